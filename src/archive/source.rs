//! Where hour files come from: `ARCHIVE_URL` over HTTP(S), or a local mirror (`file:///path`).
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use url::Url;

use crate::domain::archive::Hour;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("the archive answered HTTP {0}")]
    Status(u16),
    #[error("cannot reach the archive: {0}")]
    Transport(String),
    #[error("cannot read {path}: {source}")]
    File { path: String, source: io::Error },
}

/// Why the archive cannot be read from the configured URL.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("`{0}` is not a local path")]
    NotAPath(Url),
    #[error("unsupported scheme `{0}` (http, https or file)")]
    Scheme(String),
}

/// An open hour file, its compressed bytes to be read from a blocking thread.
pub enum Opened {
    /// 404, or no such file in the mirror: the archive has a gap here.
    Missing,
    Body(Box<dyn Read + Send>),
}

#[derive(Clone)]
pub struct ArchiveSource {
    base: Base,
}

#[derive(Clone)]
enum Base {
    Http { url: Url, client: reqwest::Client },
    Dir(PathBuf),
}

/// Chunks received from the network waiting for the reader: bounded, so memory does not grow
/// with the size of a file.
const QUEUED_CHUNKS: usize = 16;

impl ArchiveSource {
    /// `url` is `http(s)://…` or `file:///path/to/mirror`.
    pub fn new(url: &Url, timeout: Duration) -> Result<Self, SourceError> {
        match url.scheme() {
            "http" | "https" => {
                let client = reqwest::Client::builder()
                    .connect_timeout(timeout)
                    .read_timeout(timeout)
                    .user_agent(concat!("git-collector/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(SourceError::Client)?;
                Ok(Self { base: Base::Http { url: url.clone(), client } })
            }
            "file" => {
                let path = url.to_file_path().map_err(|()| SourceError::NotAPath(url.clone()))?;
                Ok(Self { base: Base::Dir(path) })
            }
            other => Err(SourceError::Scheme(other.to_string())),
        }
    }

    /// Opens the file of `hour`.
    pub async fn open(&self, hour: Hour) -> Result<Opened, FetchError> {
        match &self.base {
            Base::Dir(dir) => {
                let path = dir.join(hour.file_name());
                match std::fs::File::open(&path) {
                    Ok(file) => Ok(Opened::Body(Box::new(file))),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Opened::Missing),
                    Err(source) => Err(FetchError::File { path: path.display().to_string(), source }),
                }
            }
            Base::Http { url, client } => {
                let mut file = url.clone();
                if let Ok(mut segments) = file.path_segments_mut() {
                    segments.pop_if_empty().push(&hour.file_name());
                }
                let response =
                    client.get(file).send().await.map_err(|e| FetchError::Transport(e.without_url().to_string()))?;
                match response.status().as_u16() {
                    200 => Ok(Opened::Body(Box::new(stream_reader(response)))),
                    404 => Ok(Opened::Missing),
                    status => Err(FetchError::Status(status)),
                }
            }
        }
    }
}

/// A blocking reader of a response body: a task receives the body and hands its chunks over a
/// bounded channel. A transfer that breaks off is an error of the reader, never a short file.
fn stream_reader(response: reqwest::Response) -> ChannelReader {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(QUEUED_CHUNKS);
    tokio::spawn(async move {
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| io::Error::other(format!("the transfer broke off: {}", e.without_url())));
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    ChannelReader { rx, current: Bytes::new() }
}

/// Read from a blocking thread (`spawn_blocking`), never from async code.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                // The body ended.
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}
