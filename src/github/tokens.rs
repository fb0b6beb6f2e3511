//! The token pool (docs/rules.md §3.2): every configured token has its own rate limits, read from
//! its own answers. A request goes to the usable token with the most budget left; a token that
//! is rate limited rests until its reset while the others carry on; a token that GitHub
//! answers 401 for is taken out of the pool. Without tokens, the pool holds one anonymous slot.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::metrics::Metrics;

/// Names a token in stored validators and logs without revealing it: the first 8 hex digits of
/// its SHA-256, or `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenId(String);

impl TokenId {
    fn of(token: Option<&SecretString>) -> Self {
        match token {
            Some(secret) => Self(hex::encode(&Sha256::digest(secret.expose_secret().as_bytes())[..4])),
            None => Self("anonymous".into()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(value: &str) -> Option<Self> {
        let ok = value == "anonymous" || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_hexdigit()));
        ok.then(|| Self(value.to_string()))
    }
}

#[derive(Debug, Default)]
struct SlotState {
    /// `x-ratelimit-remaining` of the last answer; None before any.
    remaining: Option<i64>,
    /// Rate limited: no request with this token before this instant.
    resting_until: Option<Instant>,
    revoked: bool,
}

struct Slot {
    /// Position in GITHUB_TOKEN from 0, or `anonymous`: what logs and metrics show.
    label: String,
    id: TokenId,
    secret: Option<SecretString>,
    state: Mutex<SlotState>,
}

/// The token a request is sent with.
#[derive(Clone)]
pub struct Lease {
    slot: Arc<Slot>,
}

impl Lease {
    pub fn id(&self) -> &TokenId {
        &self.slot.id
    }

    /// The `Authorization` header value, if the slot has a token.
    pub fn authorization(&self) -> Option<String> {
        self.slot.secret.as_ref().map(|s| format!("Bearer {}", s.expose_secret()))
    }

    pub fn is_anonymous(&self) -> bool {
        self.slot.secret.is_none()
    }

    pub fn label(&self) -> &str {
        &self.slot.label
    }
}

/// What acquiring a token gave.
pub enum Acquired {
    Ready(Lease),
    /// Every usable token is resting; the earliest is back at this instant.
    AllResting(Instant),
    /// GitHub refused every token.
    NoneLeft,
}

pub struct TokenPool {
    slots: Vec<Arc<Slot>>,
    metrics: Arc<Metrics>,
}

impl TokenPool {
    pub fn new(tokens: &[SecretString], metrics: Arc<Metrics>) -> Self {
        let slots: Vec<Arc<Slot>> = if tokens.is_empty() {
            vec![Arc::new(Slot {
                label: "anonymous".into(),
                id: TokenId::of(None),
                secret: None,
                state: Mutex::default(),
            })]
        } else {
            tokens
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Arc::new(Slot {
                        label: i.to_string(),
                        id: TokenId::of(Some(t)),
                        secret: Some(t.clone()),
                        state: Mutex::default(),
                    })
                })
                .collect()
        };
        Self { slots, metrics }
    }

    fn state(slot: &Slot) -> std::sync::MutexGuard<'_, SlotState> {
        slot.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The token for the next request: `prefer` (the token that got a stored ETag) while it is
    /// usable, else the usable token with the most budget left (unknown budget counts as full).
    pub fn acquire(&self, prefer: Option<&TokenId>) -> Acquired {
        let now = Instant::now();
        let mut best: Option<(i64, &Arc<Slot>)> = None;
        let mut earliest: Option<Instant> = None;
        let mut any_left = false;
        for slot in &self.slots {
            let state = Self::state(slot);
            if state.revoked {
                continue;
            }
            any_left = true;
            if let Some(until) = state.resting_until.filter(|u| *u > now) {
                earliest = Some(earliest.map_or(until, |e| e.min(until)));
                continue;
            }
            if prefer == Some(&slot.id) {
                return Acquired::Ready(Lease { slot: slot.clone() });
            }
            let budget = state.remaining.unwrap_or(i64::MAX);
            if best.as_ref().is_none_or(|(b, _)| budget > *b) {
                best = Some((budget, slot));
            }
        }
        match (best, earliest, any_left) {
            (Some((_, slot)), _, _) => Acquired::Ready(Lease { slot: slot.clone() }),
            (None, Some(until), _) => Acquired::AllResting(until),
            (None, None, true) => Acquired::AllResting(now),
            (None, None, false) => Acquired::NoneLeft,
        }
    }

    /// Records the budget an answer reported for the lease's token.
    pub fn observe(&self, lease: &Lease, remaining: Option<i64>) {
        if let Some(remaining) = remaining {
            Self::state(&lease.slot).remaining = Some(remaining);
            self.metrics.github_remaining(&lease.slot.label, remaining);
        }
    }

    /// Rests the lease's token for `wait` (its rate limit); the other tokens carry on.
    pub fn rest(&self, lease: &Lease, wait: Duration) {
        let until = Instant::now() + wait;
        let mut state = Self::state(&lease.slot);
        if state.resting_until.is_none_or(|u| u < until) {
            state.resting_until = Some(until);
        }
        drop(state);
        self.metrics.github_rate_limit_waits.inc();
        tracing::warn!(token = lease.label(), wait_ms = wait.as_millis() as u64, "GitHub rate limit: token resting");
    }

    /// Takes the lease's token out of the pool (GitHub answered 401). Logged once per token.
    pub fn revoke(&self, lease: &Lease) {
        let mut state = Self::state(&lease.slot);
        if !state.revoked {
            state.revoked = true;
            drop(state);
            self.metrics.github_tokens_revoked.inc();
            tracing::error!(token = lease.label(), "GitHub refused a token (401): it is no longer used");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> TokenPool {
        let tokens: Vec<SecretString> = (0..n).map(|i| SecretString::from(format!("ghp_{i}"))).collect();
        TokenPool::new(&tokens, Arc::new(Metrics::default()))
    }

    fn ready(a: Acquired) -> Lease {
        match a {
            Acquired::Ready(lease) => lease,
            _ => panic!("a token is usable"),
        }
    }

    #[tokio::test]
    async fn the_token_with_most_budget_wins_and_a_resting_one_is_skipped() {
        let p = pool(2);
        let first = ready(p.acquire(None));
        p.observe(&first, Some(10));
        let second = ready(p.acquire(None));
        assert_ne!(second.id(), first.id(), "unknown budget counts as full");
        p.observe(&second, Some(4000));
        assert_eq!(ready(p.acquire(None)).id(), second.id());
        p.rest(&second, Duration::from_secs(60));
        assert_eq!(ready(p.acquire(None)).id(), first.id(), "a resting token never blocks the others");
        assert_eq!(ready(p.acquire(Some(second.id()))).id(), first.id(), "a resting preferred token is skipped");
        p.rest(&first, Duration::from_secs(30));
        assert!(matches!(p.acquire(None), Acquired::AllResting(_)));
    }

    #[tokio::test]
    async fn a_revoked_token_is_never_used_again() {
        let p = pool(2);
        let first = ready(p.acquire(None));
        p.revoke(&first);
        p.revoke(&first);
        for _ in 0..3 {
            assert_ne!(ready(p.acquire(Some(first.id()))).id(), first.id());
        }
        let second = ready(p.acquire(None));
        p.revoke(&second);
        assert!(matches!(p.acquire(None), Acquired::NoneLeft));
    }

    #[test]
    fn ids_reveal_nothing_of_the_token() {
        let id = TokenId::of(Some(&SecretString::from("ghp_secret".to_string())));
        assert_eq!(id.as_str().len(), 8);
        assert!(!id.as_str().contains("ghp"));
        assert_eq!(TokenId::parse(id.as_str()), Some(id));
        assert_eq!(TokenId::parse("anonymous").map(|i| i.0), Some("anonymous".into()));
        assert_eq!(TokenId::parse("nope"), None);
    }
}
