//! Reading one hour file: inflate the gzip stream, split it into lines ourselves, check each
//! line on its own and fold the events (docs/rules.md §7). A broken line costs that line; a file
//! that cannot be read whole (truncated gzip, bad checksum, a cut connection) is an error, and
//! nothing of it is kept.
use std::io::{self, BufReader, Read};

use flate2::bufread::MultiGzDecoder;

use super::fold::HourFold;
use super::scan::scan_event;
use crate::domain::archive::aggregate::HourPart;
use crate::domain::archive::Hour;

/// Bytes inflated per read.
const CHUNK: usize = 256 * 1024;
/// A line longer than this is not an event (the longest real events are tens of KB): it is
/// skipped without being held in memory.
pub const MAX_LINE: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The gzip stream or the transfer broke off, or the data is corrupt.
    #[error("the file cannot be read whole: {0}")]
    Broken(#[source] io::Error),
    #[error("the file is empty (not even a gzip header)")]
    Empty,
}

/// Counts the compressed bytes read.
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What reading an hour file gave.
#[derive(Debug)]
pub struct HourRead {
    pub part: HourPart,
    /// Compressed bytes of the file.
    pub bytes: u64,
}

/// Reads a whole gzip hour file from `compressed`, calling `progress` with the events counted so
/// far now and then.
pub fn read_hour(hour: Hour, compressed: impl Read, mut progress: impl FnMut(u64)) -> Result<HourRead, ReadError> {
    let mut source = Counting { inner: compressed, bytes: 0 };
    let mut fold = HourFold::new(hour);
    let result = {
        let mut gz = MultiGzDecoder::new(BufReader::with_capacity(CHUNK, &mut source));
        let mut lines = LineSplitter::default();
        let mut buf = vec![0u8; CHUNK];
        loop {
            match gz.read(&mut buf) {
                Ok(0) => {
                    lines.finish(|line| fold_line(&mut fold, line));
                    break Ok(());
                }
                Ok(n) => {
                    lines.feed(&buf[..n], |line| fold_line(&mut fold, line));
                    progress(fold.events());
                }
                Err(err) => break Err(err),
            }
        }
    };
    match (result, source.bytes) {
        (_, 0) => Err(ReadError::Empty),
        (Err(err), _) => Err(ReadError::Broken(err)),
        (Ok(()), bytes) => Ok(HourRead { part: fold.finish(), bytes }),
    }
}

fn fold_line(fold: &mut HourFold, line: Line<'_>) {
    match line {
        Line::Text(text) => match scan_event(text) {
            Ok(event) => fold.add(&event),
            Err(_) => fold.skip(),
        },
        Line::TooLong => fold.skip(),
    }
}

enum Line<'a> {
    Text(&'a [u8]),
    /// Longer than `MAX_LINE`: not kept, not an event.
    TooLong,
}

/// Splits a byte stream into lines at `\n`, carrying a partial line across chunks.
#[derive(Default)]
struct LineSplitter {
    partial: Vec<u8>,
    /// Inside a line that grew past `MAX_LINE`: dropping bytes until its end.
    dropping: bool,
}

impl LineSplitter {
    fn feed(&mut self, mut chunk: &[u8], mut on_line: impl FnMut(Line<'_>)) {
        while let Some(end) = memchr::memchr(b'\n', chunk) {
            let (head, rest) = (&chunk[..end], &chunk[end + 1..]);
            if self.dropping {
                self.dropping = false;
                on_line(Line::TooLong);
            } else if self.partial.is_empty() {
                on_line(Line::Text(head));
            } else if self.partial.len() + head.len() > MAX_LINE {
                self.partial.clear();
                on_line(Line::TooLong);
            } else {
                self.partial.extend_from_slice(head);
                on_line(Line::Text(&self.partial));
                self.partial.clear();
            }
            chunk = rest;
        }
        if self.dropping {
            return;
        }
        if self.partial.len() + chunk.len() > MAX_LINE {
            self.partial = Vec::new();
            self.dropping = true;
        } else {
            self.partial.extend_from_slice(chunk);
        }
    }

    /// The last line, when the file does not end with a newline.
    fn finish(&mut self, mut on_line: impl FnMut(Line<'_>)) {
        if self.dropping {
            on_line(Line::TooLong);
        } else if !self.partial.is_empty() {
            on_line(Line::Text(&self.partial));
        }
        self.partial.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn event(id: u64) -> String {
        format!(
            r#"{{"id":"{id}","type":"WatchEvent","actor":{{"id":{id},"login":"u{id}"}},"repo":{{"id":1,"name":"o/r"}},"payload":{{}},"public":true,"created_at":"2024-01-01T00:00:00Z"}}"#
        )
    }

    fn hour() -> Hour {
        Hour::of_day(chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), 0)
    }

    /// Reads `data` through a reader that hands out `step` bytes at a time.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn lines_are_split_across_chunks_and_a_broken_line_costs_only_itself() {
        let mut text = String::new();
        for id in 1..=500u64 {
            text.push_str(&event(id));
            text.push('\n');
            if id == 250 {
                // Spliced, truncated, garbage, NUL-only, and an empty line.
                text.push_str(&format!("{}{}\n", event(9001), event(9002)));
                text.push_str(&event(9003)[..40]);
                text.push('\n');
                text.push_str("<html>oops</html>\n\0\0\0\n\n");
            }
        }
        // A truncated last line, without its newline.
        text.push_str(&event(9004)[..60]);
        let compressed = gzip(text.as_bytes());
        for step in [1 << 20, 4096, 7] {
            let read = read_hour(hour(), Trickle { data: &compressed, step }, |_| {}).unwrap();
            assert_eq!(read.part.events, 500, "step {step}");
            assert_eq!(read.part.skipped_lines, 6, "spliced, truncated, html, NULs, empty, last");
            assert_eq!(read.bytes, compressed.len() as u64);
        }
    }

    #[test]
    fn a_truncated_or_corrupt_file_is_an_error() {
        let text: String = (1..=2000u64).map(|i| event(i) + "\n").collect();
        let compressed = gzip(text.as_bytes());
        let cut = &compressed[..compressed.len() / 2];
        assert!(matches!(read_hour(hour(), cut, |_| {}), Err(ReadError::Broken(_))));
        let mut flipped = compressed.clone();
        let n = flipped.len();
        flipped[n - 6] ^= 0xff; // the CRC
        assert!(matches!(read_hour(hour(), &flipped[..], |_| {}), Err(ReadError::Broken(_))));
        assert!(matches!(read_hour(hour(), &b""[..], |_| {}), Err(ReadError::Empty)));
        assert!(read_hour(hour(), &b"not gzip at all"[..], |_| {}).is_err());
    }

    #[test]
    fn a_huge_line_is_skipped_without_being_kept() {
        let mut splitter = LineSplitter::default();
        let mut seen = Vec::new();
        let big = vec![b'x'; MAX_LINE / 4];
        splitter.feed(b"first\nsecond-start", |l| seen.push(matches!(l, Line::Text(t) if t == b"first")));
        for _ in 0..5 {
            splitter.feed(&big, |_| seen.push(false));
        }
        assert!(splitter.partial.capacity() <= MAX_LINE, "the long line is dropped, not kept");
        splitter.feed(b"-end\nthird\n", |l| seen.push(matches!(l, Line::TooLong | Line::Text(b"third"))));
        assert_eq!(seen, vec![true, true, true]);
    }
}
