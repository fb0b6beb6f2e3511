//! Opaque cursors and the checking of `first`/`after`/`last`/`before`.
//!
//! A cursor is base64url of `kind|scope|key…`: the kind of list, a fingerprint of the query's
//! filters, and the row's key. A cursor of another list or of other filters is rejected.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// A short fingerprint of a query's filters, the cursor's scope.
pub fn scope(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for p in parts {
        hash.update(p.as_bytes());
        hash.update([0u8]);
    }
    hex::encode(&hash.finalize()[..6])
}

pub fn encode(kind: &str, scope: &str, key: &[String]) -> String {
    let mut raw = format!("{kind}|{scope}");
    for part in key {
        raw.push('|');
        raw.push_str(part);
    }
    URL_SAFE_NO_PAD.encode(raw)
}

/// The key parts of `cursor`, checked to be of `kind` and `scope` with `parts` parts.
pub fn decode(cursor: &str, kind: &str, scope: &str, parts: usize) -> ApiResult<Vec<String>> {
    let invalid = || ApiError::bad_input(format!("`{cursor}` is not a cursor of this list"));
    let raw = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let mut fields = raw.split('|');
    if fields.next() != Some(kind) {
        return Err(invalid());
    }
    if fields.next() != Some(scope) {
        return Err(ApiError::bad_input("the cursor belongs to a query with other filters or order"));
    }
    let key: Vec<String> = fields.map(str::to_string).collect();
    if key.len() != parts {
        return Err(invalid());
    }
    Ok(key)
}

/// The pagination arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// Checked pagination: a page of `limit` rows between the cursors, from the start or the end.
#[derive(Debug, Clone)]
pub struct Window<K> {
    pub after: Option<K>,
    pub before: Option<K>,
    pub limit: u64,
    pub from_end: bool,
}

impl Window<Vec<sea_orm::Value>> {
    /// The store's page request; `descending`: every ordering column descending.
    pub fn into_request(self, descending: bool) -> crate::store::page::PageRequest {
        crate::store::page::PageRequest {
            after: self.after,
            before: self.before,
            limit: self.limit,
            from_end: self.from_end,
            descending,
        }
    }
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        Self { first, after, last, before }
    }

    /// Checks the arguments and decodes the cursors with `decode`.
    pub fn window<K>(&self, decode: impl Fn(&str) -> ApiResult<K>) -> ApiResult<Window<K>> {
        let size = |name: &str, value: i32| -> ApiResult<u64> {
            if value < 0 {
                return Err(ApiError::bad_input(format!("`{name}` must not be negative")));
            }
            let value = value as u64;
            if value > MAX_PAGE {
                return Err(ApiError::bad_input(format!("`{name}` must be at most {MAX_PAGE}")));
            }
            Ok(value)
        };
        let (limit, from_end) = match (self.first, self.last) {
            (Some(_), Some(_)) => return Err(ApiError::bad_input("give `first` or `last`, not both")),
            (Some(first), None) => (size("first", first)?, false),
            (None, Some(last)) => (size("last", last)?, true),
            // Without a size: from the start, unless only `before` says where to look.
            (None, None) => (DEFAULT_PAGE, self.before.is_some() && self.after.is_none()),
        };
        Ok(Window {
            after: self.after.as_deref().map(&decode).transpose()?,
            before: self.before.as_deref().map(&decode).transpose()?,
            limit,
            from_end,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_others() {
        let s = scope(&["acme", "", "false"]);
        let c = encode("monthly", &s, &["2020-01-01".into(), "acme".into(), "x".into(), "7".into()]);
        assert_eq!(decode(&c, "monthly", &s, 4).unwrap()[3], "7");
        assert!(decode(&c, "repos", &s, 4).is_err());
        assert!(decode(&c, "monthly", &scope(&["other"]), 4).is_err());
        assert!(decode("not-a-cursor!", "monthly", &s, 4).is_err());
        assert!(decode(&c, "monthly", &s, 3).is_err());
    }

    #[test]
    fn page_arguments_are_checked() {
        let ok = |a: PageArgs| a.window(|c| Ok(c.to_string()));
        assert_eq!(ok(PageArgs::default()).unwrap().limit, 20);
        assert!(ok(PageArgs::new(Some(1000), None, None, None)).is_err());
        assert!(ok(PageArgs::new(Some(-1), None, None, None)).is_err());
        assert!(ok(PageArgs::new(Some(5), None, Some(5), None)).is_err());
        let back = ok(PageArgs::new(None, None, Some(7), None)).unwrap();
        assert!(back.from_end && back.limit == 7);
    }
}
