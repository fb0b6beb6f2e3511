//! Single-pass scanner for one GH Archive event line (docs/rules.md §7).
//!
//! A GH Archive hour file is newline-delimited JSON: one GitHub event object per
//! line. The importer needs only a handful of fields per event, while many events
//! (pull requests, reviews) carry 10–50 KB of payload that must be skipped. This
//! module walks the *top-level* object of a line, extracts the needed fields and
//! skips everything else with a cheap structural skip. A line that is not exactly
//! one event is rejected on its own: it never costs the lines around it.
//!
//! # How skipping works
//!
//! * Skipped strings: `memchr` for the next `"`; it closes the string iff an
//!   even number of backslashes precede it.
//! * Skipped objects/arrays: 64-byte blocks are classified with 16-byte SIMD
//!   compares (via the `wide` crate: SSE2 on x86-64, NEON on aarch64, portable
//!   scalar code elsewhere) into bitmasks of quotes, backslashes and brackets.
//!   Escaped quotes are removed with carry arithmetic, a prefix XOR marks the
//!   bytes inside strings, and only brackets outside strings are visited. The
//!   cost is per block and per bracket instead of per string, which is what
//!   makes 10–50 KB pull-request payloads cheap.
//!
//! Dependencies: `memchr` and `wide`. No `unsafe` code in this module.
//!
//! # What is validated
//!
//! * The line must hold exactly one JSON object, optionally surrounded by JSON
//!   whitespace (space, tab, CR, LF) or NUL bytes (the archive has files padded
//!   with NULs: an intact event next to the padding still counts). Anything else
//!   after the closing brace (a second object, garbage) rejects the line.
//! * Top-level grammar (`{ "key" : value , ... }`) is checked exactly, and so is
//!   the grammar of every object the scanner descends into (`actor`, `repo`,
//!   the push/member payload, commit entries).
//! * Extracted strings are fully decoded (all JSON escapes, surrogate pairs),
//!   must be valid UTF-8 and must not contain raw control characters.
//!   Extracted integers must be non-negative JSON integers that fit in a `u64`.
//! * Skipped values are validated *structurally* only: strings must be closed
//!   (escapes honoured), `{}`/`[]` must be balanced and correctly paired, nesting
//!   is limited to [`MAX_DEPTH`]. The content of skipped strings and scalars is
//!   not checked against the full JSON grammar.
//!
//! Key order is not relied upon: if `payload` comes before `type`, its span is
//! remembered and parsed once the type is known.
//!
//! # Example
//!
//! ```
//! use git_collector::archive::scan::{scan_event, Payload};
//! let line = br#"{"id":"1","type":"PushEvent","actor":{"id":7,"login":"octo"},
//!   "repo":{"id":9,"name":"octo/hello"},"payload":{"size":2,"commits":[]},
//!   "public":true,"created_at":"2024-01-01T00:00:00Z"}"#;
//! let ev = scan_event(line).expect("valid line");
//! assert_eq!(ev.actor.login, "octo");
//! match ev.payload {
//!     Payload::Push(push) => assert_eq!(push.commit_count(), Some(2)),
//!     _ => unreachable!(),
//! }
//! ```

use std::borrow::Cow;
use std::fmt;

/// Maximum nesting depth of arrays/objects accepted inside a skipped value.
pub const MAX_DEPTH: u32 = 128;

/// The fields of one event that the importer needs, borrowing from the line.
///
/// Text fields are `Cow::Borrowed` unless the JSON string contained escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Event<'a> {
    /// Event id (`"id"`, a JSON string of ASCII digits, or a JSON integer).
    pub id: u64,
    /// Event type (`"type"`), e.g. `PushEvent`.
    pub kind: Cow<'a, str>,
    /// The acting user (`actor.id`, `actor.login`).
    pub actor: Actor<'a>,
    /// The repository (`repo.id`, `repo.name` = `"owner/name"`).
    pub repo: Repo<'a>,
    /// `created_at`, as found in the line (RFC 3339 in well-formed data; not checked).
    pub created_at: Cow<'a, str>,
    /// The part of the payload the importer needs, depending on `kind`.
    pub payload: Payload<'a>,
}

/// `actor` of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor<'a> {
    /// Numeric user id.
    pub id: u64,
    /// User login.
    pub login: Cow<'a, str>,
}

/// `repo` of an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo<'a> {
    /// Numeric repository id.
    pub id: u64,
    /// Full name, `"owner/name"`.
    pub name: Cow<'a, str>,
}

/// The payload data extracted for the event types that need it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Payload<'a> {
    /// `PushEvent`.
    Push(PushPayload),
    /// `MemberEvent`.
    Member(MemberPayload<'a>),
    /// Any other type: the payload was skipped.
    Other,
}

/// Commit counters of a `PushEvent` payload. Absent or `null` fields are `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PushPayload {
    /// `payload.distinct_size`.
    pub distinct_size: Option<u64>,
    /// `payload.size`.
    pub size: Option<u64>,
    /// Number of `payload.commits` entries whose `distinct` is not `false`
    /// (absent or `null` counts as distinct); `None` if `commits` is absent or `null`.
    pub distinct_commits: Option<u64>,
}

impl PushPayload {
    /// Number of distinct commits of the push: `distinct_size` if present, else
    /// `size`, else the count of `commits` entries whose `distinct` is not
    /// `false`; `None` (unknown) if none of the three is present.
    #[must_use]
    pub fn commit_count(&self) -> Option<u64> {
        self.distinct_size.or(self.size).or(self.distinct_commits)
    }
}

/// The fields of a `MemberEvent` payload. Absent or `null` fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MemberPayload<'a> {
    /// `payload.action`, e.g. `added`.
    pub action: Option<Cow<'a, str>>,
    /// `payload.member.id`.
    pub member_id: Option<u64>,
    /// `payload.member.login`.
    pub member_login: Option<Cow<'a, str>>,
}

/// Why a line was rejected. `offset` is the byte offset in the line where the
/// problem was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineError {
    /// The line is empty or holds only whitespace.
    Empty,
    /// The line ended before the JSON object was complete.
    Truncated,
    /// A byte that is not allowed by the JSON structure.
    Syntax {
        /// Byte offset of the unexpected byte.
        offset: usize,
    },
    /// Something other than whitespace follows the object (e.g. a second
    /// object spliced on the same line, or NUL padding).
    TrailingData {
        /// Byte offset of the first extra byte.
        offset: usize,
    },
    /// Skipped value nested deeper than [`MAX_DEPTH`].
    TooDeep {
        /// Byte offset of the opening bracket that exceeded the limit.
        offset: usize,
    },
    /// A required field is absent.
    MissingField(&'static str),
    /// A needed field has the wrong type or an invalid value.
    InvalidField {
        /// Dotted path of the field, e.g. `actor.id`.
        field: &'static str,
        /// Byte offset of the value.
        offset: usize,
    },
    /// A needed field appears twice in the same object.
    DuplicateField(&'static str),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::Empty => write!(f, "empty line"),
            LineError::Truncated => write!(f, "truncated JSON"),
            LineError::Syntax { offset } => write!(f, "JSON syntax error at byte {offset}"),
            LineError::TrailingData { offset } => {
                write!(f, "unexpected data after the object at byte {offset}")
            }
            LineError::TooDeep { offset } => write!(f, "nesting too deep at byte {offset}"),
            LineError::MissingField(name) => write!(f, "missing field `{name}`"),
            LineError::InvalidField { field, offset } => {
                write!(f, "invalid value for `{field}` at byte {offset}")
            }
            LineError::DuplicateField(name) => write!(f, "duplicate field `{name}`"),
        }
    }
}

impl std::error::Error for LineError {}

/// Scans one line (without its trailing `\n`; a trailing `\r` is tolerated).
///
/// # Errors
///
/// Returns a [`LineError`] if the line is not exactly one structurally valid
/// JSON object, or if a needed field is missing, duplicated or invalid. The
/// error concerns this line only; the caller moves on to the next line.
pub fn scan_event(line: &[u8]) -> Result<Event<'_>, LineError> {
    // NUL padding around the object is ignored (and a line of NULs is empty).
    let start = line.iter().position(|&b| b != 0).unwrap_or(line.len());
    let end = line.iter().rposition(|&b| b != 0).map_or(start, |i| i + 1);
    let line = &line[start..end.max(start)];
    let mut cur = Cursor { buf: line, pos: 0 };
    cur.skip_ws();
    if cur.pos == line.len() {
        return Err(LineError::Empty);
    }
    let event = cur.top_level()?;
    cur.skip_ws();
    if cur.pos < line.len() {
        return Err(LineError::TrailingData { offset: cur.pos + start });
    }
    Ok(event)
}

/// Accumulates one required/optional field and rejects duplicates.
fn set_once<T>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), LineError> {
    if slot.is_some() {
        return Err(LineError::DuplicateField(name));
    }
    *slot = Some(value);
    Ok(())
}

/// A position in the line being scanned.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn syntax_error(&self) -> LineError {
        if self.pos >= self.buf.len() {
            LineError::Truncated
        } else {
            LineError::Syntax { offset: self.pos }
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), LineError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax_error())
        }
    }

    /// Consumes `literal` if the input continues with it.
    fn eat_literal(&mut self, literal: &[u8]) -> bool {
        let matches = self.buf.get(self.pos..self.pos + literal.len()).is_some_and(|s| s == literal);
        if matches {
            self.pos += literal.len();
        }
        matches
    }

    /// Walks an object, calling `on_field(cursor, key)` with the cursor at the
    /// start of each value; the callback must consume the value.
    fn object(&mut self, mut on_field: impl FnMut(&mut Self, &[u8]) -> Result<(), LineError>) -> Result<(), LineError> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax_error());
            }
            let key = self.string_bytes()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            on_field(self, &key)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax_error()),
            }
        }
    }

    /// Parses the top-level event object.
    fn top_level(&mut self) -> Result<Event<'a>, LineError> {
        let mut id = None;
        let mut kind: Option<Cow<'a, str>> = None;
        let mut actor = None;
        let mut repo = None;
        let mut created_at = None;
        let mut payload: Option<Payload<'a>> = None;
        // Payload seen before `type`: its value span, parsed at the end.
        let mut deferred_payload: Option<usize> = None;

        self.object(|cur, key| match key {
            b"id" => {
                let start = cur.pos;
                let value =
                    if cur.peek() == Some(b'"') { parse_digits(&cur.string("id")?, start)? } else { cur.u64("id")? };
                set_once(&mut id, value, "id")
            }
            b"type" => {
                let value = cur.string("type")?;
                set_once(&mut kind, value, "type")
            }
            b"actor" => {
                let (uid, login) = cur.id_and_name("actor", b"login")?;
                set_once(&mut actor, Actor { id: uid, login }, "actor")
            }
            b"repo" => {
                let (rid, name) = cur.id_and_name("repo", b"name")?;
                set_once(&mut repo, Repo { id: rid, name }, "repo")
            }
            b"created_at" => {
                let value = cur.string("created_at")?;
                set_once(&mut created_at, value, "created_at")
            }
            b"payload" => {
                if payload.is_some() || deferred_payload.is_some() {
                    return Err(LineError::DuplicateField("payload"));
                }
                if let Some(k) = kind.as_deref() {
                    payload = Some(cur.payload(k)?);
                } else {
                    deferred_payload = Some(cur.pos);
                    cur.skip_value()?;
                }
                Ok(())
            }
            _ => cur.skip_value(),
        })?;

        let kind = kind.ok_or(LineError::MissingField("type"))?;
        let payload = match (payload, deferred_payload) {
            (Some(p), _) => p,
            (None, Some(start)) => {
                let mut sub = Cursor { buf: self.buf, pos: start };
                sub.payload(&kind)?
            }
            (None, None) => match kind.as_ref() {
                "PushEvent" => Payload::Push(PushPayload::default()),
                "MemberEvent" => Payload::Member(MemberPayload::default()),
                _ => Payload::Other,
            },
        };
        Ok(Event {
            id: id.ok_or(LineError::MissingField("id"))?,
            kind,
            actor: actor.ok_or(LineError::MissingField("actor"))?,
            repo: repo.ok_or(LineError::MissingField("repo"))?,
            created_at: created_at.ok_or(LineError::MissingField("created_at"))?,
            payload,
        })
    }

    /// Parses `actor`/`repo`: an object with a numeric `id` and a string field
    /// named `name_key`; other keys are skipped.
    fn id_and_name(&mut self, what: &'static str, name_key: &'static [u8]) -> Result<(u64, Cow<'a, str>), LineError> {
        let (id_field, name_field) =
            if what == "actor" { ("actor.id", "actor.login") } else { ("repo.id", "repo.name") };
        if self.peek() != Some(b'{') {
            return Err(LineError::InvalidField { field: what, offset: self.pos });
        }
        let mut id = None;
        let mut name = None;
        self.object(|cur, key| {
            if key == b"id" {
                let at = cur.pos;
                let value = cur.u64(id_field)?;
                if value >= crate::domain::archive::aggregate::MAX_ID {
                    return Err(LineError::InvalidField { field: id_field, offset: at });
                }
                set_once(&mut id, value, id_field)
            } else if key == name_key {
                let at = cur.pos;
                let value = cur.string(name_field)?;
                // Logins and names never hold control characters (an escaped NUL would not
                // even be storable): such a line is not an event.
                if value.chars().any(char::is_control) {
                    return Err(LineError::InvalidField { field: name_field, offset: at });
                }
                set_once(&mut name, value, name_field)
            } else {
                cur.skip_value()
            }
        })?;
        Ok((id.ok_or(LineError::MissingField(id_field))?, name.ok_or(LineError::MissingField(name_field))?))
    }

    /// Parses or skips the payload value depending on the event type.
    fn payload(&mut self, kind: &str) -> Result<Payload<'a>, LineError> {
        match kind {
            "PushEvent" => self.push_payload().map(Payload::Push),
            "MemberEvent" => self.member_payload().map(Payload::Member),
            _ => {
                self.skip_value()?;
                Ok(Payload::Other)
            }
        }
    }

    /// Checks that the value is an object (returns `true`) or `null` (consumed,
    /// returns `false`).
    fn object_or_null(&mut self, field: &'static str) -> Result<bool, LineError> {
        match self.peek() {
            Some(b'{') => Ok(true),
            _ if self.eat_literal(b"null") => Ok(false),
            None => Err(LineError::Truncated),
            _ => Err(LineError::InvalidField { field, offset: self.pos }),
        }
    }

    fn push_payload(&mut self) -> Result<PushPayload, LineError> {
        let mut out = PushPayload::default();
        if !self.object_or_null("payload")? {
            return Ok(out);
        }
        let (mut seen_ds, mut seen_size, mut seen_commits) = (false, false, false);
        self.object(|cur, key| match key {
            b"distinct_size" => {
                if std::mem::replace(&mut seen_ds, true) {
                    return Err(LineError::DuplicateField("payload.distinct_size"));
                }
                out.distinct_size = cur.opt_u64("payload.distinct_size")?;
                Ok(())
            }
            b"size" => {
                if std::mem::replace(&mut seen_size, true) {
                    return Err(LineError::DuplicateField("payload.size"));
                }
                out.size = cur.opt_u64("payload.size")?;
                Ok(())
            }
            b"commits" => {
                if std::mem::replace(&mut seen_commits, true) {
                    return Err(LineError::DuplicateField("payload.commits"));
                }
                out.distinct_commits = cur.distinct_commits()?;
                Ok(())
            }
            _ => cur.skip_value(),
        })?;
        Ok(out)
    }

    /// Counts the entries of `payload.commits` whose `distinct` is not `false`.
    fn distinct_commits(&mut self) -> Result<Option<u64>, LineError> {
        if self.eat_literal(b"null") {
            return Ok(None);
        }
        if self.peek() != Some(b'[') {
            return Err(LineError::InvalidField { field: "payload.commits", offset: self.pos });
        }
        self.pos += 1;
        self.skip_ws();
        let mut count = 0u64;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Some(count));
        }
        loop {
            if self.peek() != Some(b'{') {
                return Err(LineError::InvalidField { field: "payload.commits", offset: self.pos });
            }
            let mut distinct: Option<Option<bool>> = None;
            self.object(|cur, key| {
                if key == b"distinct" {
                    let value = cur.opt_bool("payload.commits.distinct")?;
                    set_once(&mut distinct, value, "payload.commits.distinct")
                } else {
                    cur.skip_value()
                }
            })?;
            if distinct != Some(Some(false)) {
                count += 1;
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Some(count));
                }
                _ => return Err(self.syntax_error()),
            }
        }
    }

    fn member_payload(&mut self) -> Result<MemberPayload<'a>, LineError> {
        let mut out = MemberPayload::default();
        if !self.object_or_null("payload")? {
            return Ok(out);
        }
        let (mut seen_action, mut seen_member) = (false, false);
        self.object(|cur, key| match key {
            b"action" => {
                if std::mem::replace(&mut seen_action, true) {
                    return Err(LineError::DuplicateField("payload.action"));
                }
                out.action = cur.opt_string("payload.action")?;
                Ok(())
            }
            b"member" => {
                if std::mem::replace(&mut seen_member, true) {
                    return Err(LineError::DuplicateField("payload.member"));
                }
                if !cur.object_or_null("payload.member")? {
                    return Ok(());
                }
                let (mut seen_id, mut seen_login) = (false, false);
                cur.object(|cur, key| match key {
                    b"id" => {
                        if std::mem::replace(&mut seen_id, true) {
                            return Err(LineError::DuplicateField("payload.member.id"));
                        }
                        out.member_id = cur.opt_u64("payload.member.id")?;
                        Ok(())
                    }
                    b"login" => {
                        if std::mem::replace(&mut seen_login, true) {
                            return Err(LineError::DuplicateField("payload.member.login"));
                        }
                        out.member_login = cur.opt_string("payload.member.login")?;
                        Ok(())
                    }
                    _ => cur.skip_value(),
                })
            }
            _ => cur.skip_value(),
        })?;
        Ok(out)
    }

    // ----- scalars -------------------------------------------------------

    /// Parses a non-negative JSON integer that fits in a `u64`.
    fn u64(&mut self, field: &'static str) -> Result<u64, LineError> {
        let start = self.pos;
        let invalid = LineError::InvalidField { field, offset: start };
        let digits = self.buf[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(if start >= self.buf.len() { LineError::Truncated } else { invalid });
        }
        // JSON forbids leading zeros.
        if digits > 1 && self.buf[start] == b'0' {
            return Err(invalid);
        }
        self.pos += digits;
        // A fraction or exponent makes it a float, not an integer.
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return Err(invalid);
        }
        let mut value: u64 = 0;
        for &b in &self.buf[start..self.pos] {
            value = value.checked_mul(10).and_then(|v| v.checked_add(u64::from(b - b'0'))).ok_or(invalid)?;
        }
        Ok(value)
    }

    fn opt_u64(&mut self, field: &'static str) -> Result<Option<u64>, LineError> {
        if self.eat_literal(b"null") {
            Ok(None)
        } else {
            self.u64(field).map(Some)
        }
    }

    fn opt_bool(&mut self, field: &'static str) -> Result<Option<bool>, LineError> {
        if self.eat_literal(b"true") {
            Ok(Some(true))
        } else if self.eat_literal(b"false") {
            Ok(Some(false))
        } else if self.eat_literal(b"null") {
            Ok(None)
        } else if self.pos >= self.buf.len() {
            Err(LineError::Truncated)
        } else {
            Err(LineError::InvalidField { field, offset: self.pos })
        }
    }

    fn opt_string(&mut self, field: &'static str) -> Result<Option<Cow<'a, str>>, LineError> {
        if self.eat_literal(b"null") {
            Ok(None)
        } else {
            self.string(field).map(Some)
        }
    }

    /// Parses a JSON string value into text, decoding escapes.
    fn string(&mut self, field: &'static str) -> Result<Cow<'a, str>, LineError> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(if start >= self.buf.len() {
                LineError::Truncated
            } else {
                LineError::InvalidField { field, offset: start }
            });
        }
        let bytes = self.string_bytes()?;
        let invalid = LineError::InvalidField { field, offset: start };
        match bytes {
            Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(|_| invalid),
            Cow::Owned(v) => String::from_utf8(v).map(Cow::Owned).map_err(|_| invalid),
        }
    }

    /// Parses a JSON string (cursor at the opening quote) into its decoded
    /// bytes (not yet checked for UTF-8). Borrowed when it has no escapes.
    ///
    /// Keys and extracted values are short, so a single byte loop that stops
    /// at the closing quote is the fast path; escapes and control characters
    /// divert to [`Self::string_bytes_general`].
    fn string_bytes(&mut self) -> Result<Cow<'a, [u8]>, LineError> {
        let content_start = self.pos + 1;
        let rest = self.buf.get(content_start..).unwrap_or_default();
        for (len, &b) in rest.iter().enumerate() {
            if b == b'"' {
                self.pos = content_start + len + 1;
                return Ok(Cow::Borrowed(&rest[..len]));
            }
            if b == b'\\' || b < 0x20 {
                return self.string_bytes_general();
            }
        }
        Err(LineError::Truncated)
    }

    /// General case of [`Self::string_bytes`]: validates and decodes escapes.
    fn string_bytes_general(&mut self) -> Result<Cow<'a, [u8]>, LineError> {
        let open = self.pos;
        let content_start = open + 1;
        let end = self.string_end(content_start)?;
        self.pos = end + 1;
        let raw = &self.buf[content_start..end];
        if let Some(offset) = raw.iter().position(|&b| b < 0x20) {
            return Err(LineError::Syntax { offset: content_start + offset });
        }
        if memchr::memchr(b'\\', raw).is_none() {
            return Ok(Cow::Borrowed(raw));
        }
        decode_escapes(raw, content_start).map(Cow::Owned)
    }

    /// Given the index just after an opening quote, returns the index of the
    /// closing quote: `memchr` for `"`, then the quote is escaped iff an odd
    /// number of backslashes precede it (inside this string).
    #[inline]
    fn string_end(&self, from: usize) -> Result<usize, LineError> {
        let mut search = from;
        loop {
            let rel = memchr::memchr(b'"', &self.buf[search..]).ok_or(LineError::Truncated)?;
            let quote = search + rel;
            let backslashes = self.buf[from..quote].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                return Ok(quote);
            }
            search = quote + 1;
        }
    }

    // ----- skipping ------------------------------------------------------

    /// Skips one value of any type (structural validation only).
    fn skip_value(&mut self) -> Result<(), LineError> {
        match self.peek() {
            None => Err(LineError::Truncated),
            Some(b'"') => {
                self.pos = self.string_end(self.pos + 1)? + 1;
                Ok(())
            }
            Some(b'{' | b'[') => self.skip_container(),
            Some(b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                // Numbers and literals: consume up to the next delimiter.
                let len = self.buf[self.pos..]
                    .iter()
                    .take_while(|&&b| !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .count();
                self.pos += len;
                Ok(())
            }
            Some(_) => Err(LineError::Syntax { offset: self.pos }),
        }
    }

    /// Skips an object or array (cursor at its opening bracket), checking that
    /// strings are closed and brackets outside strings are balanced and
    /// correctly paired.
    ///
    /// Works on 64-byte blocks: SIMD compares produce bitmasks of quotes,
    /// backslashes and brackets; escaped quotes are removed with carry
    /// arithmetic, a prefix XOR of the remaining quotes marks the bytes inside
    /// strings, and only the brackets outside strings are visited one by one.
    /// Cost is per block and per bracket, not per string.
    fn skip_container(&mut self) -> Result<(), LineError> {
        let buf = self.buf;
        // Bit i of `kinds` is 1 if nesting level i is an object, 0 if an array.
        let mut kinds: u128 = 0;
        let mut depth: u32 = 0;
        let mut escape_carry = 0u64;
        let mut in_string = 0u64;
        let mut base = self.pos;
        while base < buf.len() {
            let mut padded = [b' '; BLOCK];
            // The last, partial block is padded with spaces (not structural).
            let block: &[u8] = if let Some(full) = buf.get(base..base + BLOCK) {
                full
            } else {
                let rest = &buf[base..];
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            };
            let m = BlockMasks::new(block);
            let escaped =
                if m.backslash == 0 && escape_carry == 0 { 0 } else { escaped_bits(m.backslash, &mut escape_carry) };
            let inside = prefix_xor(m.quote & !escaped) ^ in_string;
            // A backslash outside strings is never valid JSON. (Rejecting it
            // also guarantees that `escaped` only concerns string content.)
            // Only the part of the block before the container's end counts.
            let stray = m.backslash & !inside;
            let stray_error = |limit: usize| {
                let below = if limit >= BLOCK { stray } else { stray & ((1u64 << limit) - 1) };
                (below != 0).then(|| LineError::Syntax { offset: base + below.trailing_zeros() as usize })
            };
            // All ones if the block ends inside a string.
            in_string = 0u64.wrapping_sub(inside >> 63);
            let mut brackets = (m.open | m.close) & !inside;
            while brackets != 0 {
                let i = brackets.trailing_zeros() as usize;
                brackets &= brackets - 1;
                // `{`/`}` have bit 5 set, `[`/`]` do not.
                let is_obj = block[i] & 0x20 != 0;
                if (m.open >> i) & 1 == 1 {
                    if depth == MAX_DEPTH {
                        return Err(LineError::TooDeep { offset: base + i });
                    }
                    kinds = (kinds << 1) | u128::from(is_obj);
                    depth += 1;
                } else {
                    if depth == 0 || ((kinds & 1) == 1) != is_obj {
                        return Err(LineError::Syntax { offset: base + i });
                    }
                    kinds >>= 1;
                    depth -= 1;
                    if depth == 0 {
                        if let Some(err) = stray_error(i) {
                            return Err(err);
                        }
                        self.pos = base + i + 1;
                        return Ok(());
                    }
                }
            }
            if let Some(err) = stray_error(BLOCK) {
                return Err(err);
            }
            base += BLOCK;
        }
        Err(LineError::Truncated)
    }
}

/// Bytes per block of the container skip.
const BLOCK: usize = 64;

/// Bitmasks (bit i = byte i) of the structural bytes of one 64-byte block.
struct BlockMasks {
    quote: u64,
    backslash: u64,
    open: u64,
    close: u64,
}

impl BlockMasks {
    /// Classifies a block of exactly [`BLOCK`] bytes, 16 bytes per SIMD
    /// compare (SSE2 on x86-64, NEON on aarch64, scalar elsewhere; `wide`
    /// picks the implementation at compile time).
    fn new(block: &[u8]) -> Self {
        use wide::u8x16;
        let quote = u8x16::splat(b'"');
        let backslash = u8x16::splat(b'\\');
        let open = u8x16::splat(b'{');
        let close = u8x16::splat(b'}');
        // `[`/`{` and `]`/`}` differ only in bit 5 (0x20).
        let fold = u8x16::splat(0x20);
        let mut m = BlockMasks { quote: 0, backslash: 0, open: 0, close: 0 };
        for (k, chunk) in block.chunks_exact(16).enumerate() {
            let mut lanes = [0u8; 16];
            lanes.copy_from_slice(chunk);
            let v = u8x16::new(lanes);
            let folded = v | fold;
            let shift = 16 * k;
            m.quote |= u64::from(v.simd_eq(quote).to_bitmask()) << shift;
            m.backslash |= u64::from(v.simd_eq(backslash).to_bitmask()) << shift;
            m.open |= u64::from(folded.simd_eq(open).to_bitmask()) << shift;
            m.close |= u64::from(folded.simd_eq(close).to_bitmask()) << shift;
        }
        m
    }
}

/// Returns the bits of the bytes escaped by an odd-length run of backslashes
/// just before them. `carry` (0 or 1) tells whether the first byte of this
/// block is escaped by a run at the end of the previous block; it is updated
/// for the next block.
fn escaped_bits(backslash: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    const ODD: u64 = !EVEN;
    let first_escaped = *carry;
    // A backslash escaped by the previous block is an ordinary character.
    let b = backslash & !first_escaped;
    let starts = b & !(b << 1);
    // Adding a run's start bit to the run carries to the byte after the run.
    let even_ends = b.wrapping_add(starts & EVEN) & !b;
    let (odd_sum, overflow) = b.overflowing_add(starts & ODD);
    let odd_ends = odd_sum & !b;
    // A run that starts on an odd bit and reaches bit 63 has odd length.
    *carry = u64::from(overflow);
    // A run starting on an even bit has odd length iff it ends before an odd
    // bit, and vice versa.
    (even_ends & ODD) | (odd_ends & EVEN) | first_escaped
}

/// Inclusive prefix XOR: bit i of the result is the XOR of bits `0..=i`.
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// Parses the event id: a non-empty string of ASCII digits that fits a `u64`.
fn parse_digits(text: &str, offset: usize) -> Result<u64, LineError> {
    let invalid = LineError::InvalidField { field: "id", offset };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid);
    }
    text.parse::<u64>().map_err(|_| invalid)
}

/// Decodes the escapes of a string's raw content (`base` = its offset in the
/// line, for error positions).
fn decode_escapes(raw: &[u8], base: usize) -> Result<Vec<u8>, LineError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let err = LineError::Syntax { offset: base + i };
        let esc = *raw.get(i + 1).ok_or(err)?;
        i += 2;
        let simple = match esc {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let first = hex4(raw, i).ok_or(err)?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&first) {
                    // A high surrogate must be followed by `\u` + low surrogate.
                    if raw.get(i) != Some(&b'\\') || raw.get(i + 1) != Some(&b'u') {
                        return Err(err);
                    }
                    let second = hex4(raw, i + 2).ok_or(err)?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(err);
                    }
                    i += 6;
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else if (0xDC00..0xE000).contains(&first) {
                    return Err(err);
                } else {
                    first
                };
                let ch = char::from_u32(code).ok_or(err)?;
                let mut tmp = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                continue;
            }
            _ => return Err(err),
        };
        out.push(simple);
    }
    Ok(out)
}

/// Reads four hex digits at `at`.
fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(16)?;
        Some(acc * 16 + v)
    })
}

#[cfg(test)]
mod tests;
