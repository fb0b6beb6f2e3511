//! Opaque, typed cursors and the checking of `first`/`after`/`last`/`before`.
//!
//! A cursor is base64url of JSON `[kind, scope, key]`: the kind of list, a fingerprint of the
//! query's filters, and the row's typed key (the store's position type for that list). A
//! cursor of another list or of other filters is rejected.
use async_graphql::connection::CursorType;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};
use crate::store::account_model::AccountMonthKey;
use crate::store::archive::queries::{DeveloperKey, RepositoryKey as ArchiveRepositoryKey};
use crate::store::contributions::ContributorPosition;
use crate::store::jobs::JobKey;
use crate::store::page::PageRequest;
use crate::store::read_model::MonthlyKey;
use crate::store::repositories::RepositoryKey;

pub const DEFAULT_PAGE: u64 = 20;
pub const MAX_PAGE: u64 = 100;

/// A key type that positions rows of one list.
pub trait ListKey: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The list's name in its cursors.
    const KIND: &'static str;
}

impl ListKey for MonthlyKey {
    const KIND: &'static str = "monthly";
}
impl ListKey for RepositoryKey {
    const KIND: &'static str = "repositories";
}
impl ListKey for ContributorPosition {
    const KIND: &'static str = "contributors";
}
impl ListKey for JobKey {
    const KIND: &'static str = "jobs";
}
impl ListKey for AccountMonthKey {
    const KIND: &'static str = "account-months";
}
impl ListKey for DeveloperKey {
    const KIND: &'static str = "archive-developers";
}
impl ListKey for ArchiveRepositoryKey {
    const KIND: &'static str = "archive-repositories";
}

/// A short fingerprint of a query's filters and order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    pub fn of(parts: &[&str]) -> Self {
        let mut hash = Sha256::new();
        for p in parts {
            hash.update(p.as_bytes());
            hash.update([0u8]);
        }
        Self(hex::encode(&hash.finalize()[..6]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A position in a list of `K`, within one scope.
#[derive(Debug, Clone)]
pub struct Cursor<K> {
    scope: String,
    key: K,
}

impl<K: ListKey> Cursor<K> {
    pub fn new(scope: &Scope, key: K) -> Self {
        Self { scope: scope.0.clone(), key }
    }

    /// The key, if the cursor belongs to `scope`.
    fn key_in(self, scope: &Scope) -> ApiResult<K> {
        if self.scope == scope.0 {
            Ok(self.key)
        } else {
            Err(ApiError::bad_input("the cursor belongs to a query with other filters or order"))
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not a cursor of this list")]
pub struct NotACursor;

impl<K: ListKey> CursorType for Cursor<K> {
    type Error = NotACursor;

    fn decode_cursor(s: &str) -> Result<Self, Self::Error> {
        let raw = URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|_| NotACursor)?;
        let (kind, scope, key): (String, String, K) = serde_json::from_slice(&raw).map_err(|_| NotACursor)?;
        if kind != K::KIND {
            return Err(NotACursor);
        }
        Ok(Self { scope, key })
    }

    fn encode_cursor(&self) -> String {
        // Serializing plain keys (numbers, strings, dates) cannot fail.
        let json = serde_json::to_vec(&(K::KIND, &self.scope, &self.key)).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }
}

/// The pagination arguments of a connection field.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

impl PageArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        Self { first, after, last, before }
    }

    /// Checks the arguments and decodes the cursors, which must be of list `K` and of `scope`.
    pub fn window<K: ListKey>(&self, scope: &Scope) -> ApiResult<PageRequest<K>> {
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
        let decode = |value: &str| -> ApiResult<K> {
            Cursor::<K>::decode_cursor(value)
                .map_err(|_| ApiError::bad_input(format!("`{value}` is not a cursor of this list")))?
                .key_in(scope)
        };
        Ok(PageRequest {
            after: self.after.as_deref().map(decode).transpose()?,
            before: self.before.as_deref().map(decode).transpose()?,
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
        let scope = Scope::of(&["acme", "", "false"]);
        let key = JobKey { id: 7 };
        let cursor = Cursor::new(&scope, key).encode_cursor();
        let args = |after: &str| PageArgs::new(Some(1), Some(after.to_string()), None, None);
        assert_eq!(args(&cursor).window::<JobKey>(&scope).unwrap().after, Some(key));
        assert!(args(&cursor).window::<RepositoryKey>(&scope).is_err(), "another list");
        assert!(args(&cursor).window::<JobKey>(&Scope::of(&["other"])).is_err(), "other filters");
        assert!(args("not-a-cursor!").window::<JobKey>(&scope).is_err());
        assert!(args("W10").window::<JobKey>(&scope).is_err(), "`[]` is not a cursor");
    }

    #[test]
    fn page_arguments_are_checked() {
        let scope = Scope::of(&[]);
        let window = |a: PageArgs| a.window::<JobKey>(&scope);
        assert_eq!(window(PageArgs::default()).unwrap().limit, 20);
        assert!(window(PageArgs::new(Some(1000), None, None, None)).is_err());
        assert!(window(PageArgs::new(Some(-1), None, None, None)).is_err());
        assert!(window(PageArgs::new(Some(5), None, Some(5), None)).is_err());
        let back = window(PageArgs::new(None, None, Some(7), None)).unwrap();
        assert!(back.from_end && back.limit == 7);
    }
}
