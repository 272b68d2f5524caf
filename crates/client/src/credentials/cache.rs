//! When temporary credentials are used, refreshed, or given up on: a pure state machine over
//! the time, so every rule is tested without a clock or a network.
//!
//! - Fresh credentials are used until 80 % of their lifetime has passed.
//! - From then on each call may start one refresh; the others keep using the old credentials
//!   while they are still valid.
//! - A failed refresh keeps the old credentials until they expire (less a small margin for the
//!   call in flight) and is retried after a pause, not by every call.
//! - Expired credentials whose refresh keeps failing fail calls with the refresh's error.

use std::collections::VecDeque;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::Credentials;
use super::sts::Issued;

/// The part of a lifetime after which credentials are refreshed.
pub const REFRESH_AT: f64 = 0.8;
/// The longest pause between failed refreshes.
const MAX_RETRY_PAUSE: SignedDuration = SignedDuration::from_secs(30);
/// The shortest.
const MIN_RETRY_PAUSE: SignedDuration = SignedDuration::from_secs(1);
/// How long replaced credentials stay on the scrubber's list after they expire.
const RETIRE_AFTER: SignedDuration = SignedDuration::from_mins(15);

/// Credentials in use.
#[derive(Debug, Clone)]
struct Entry {
    credentials: Arc<Credentials>,
    issued: Timestamp,
    expires: Timestamp,
    /// The cloud refused them as expired before their time: refresh at once.
    refused: bool,
}

impl Entry {
    fn lifetime(&self) -> SignedDuration {
        self.expires
            .duration_since(self.issued)
            .max(SignedDuration::ZERO)
    }

    fn refresh_at(&self) -> Timestamp {
        self.issued + self.lifetime().mul_f64(REFRESH_AT)
    }

    /// The last moment a call may start with them: a tenth of the lifetime before they expire,
    /// at most 5 s, so that a call does not arrive after its credentials.
    fn usable_until(&self) -> Timestamp {
        let margin = self
            .lifetime()
            .div_f64(10.0)
            .min(SignedDuration::from_secs(5));
        self.expires - margin
    }
}

/// The last failed refresh.
#[derive(Debug, Clone)]
struct Failure {
    reason: String,
    retry_after: Timestamp,
    pause: SignedDuration,
}

/// What a call does now.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Sign with these.
    Use(Arc<Credentials>),
    /// Refresh; if another refresh is already under way, sign with `fallback` meanwhile (when
    /// there is one) instead of waiting.
    Refresh {
        /// Still-valid credentials.
        fallback: Option<Arc<Credentials>>,
    },
    /// No valid credentials and the last refresh failed moments ago.
    Fail {
        /// Why the last refresh failed.
        reason: String,
        /// When the last credentials expired, if there were any.
        expired: Option<Timestamp>,
    },
}

/// The cached credentials of one provider.
#[derive(Debug, Default)]
pub struct Cache {
    current: Option<Entry>,
    failure: Option<Failure>,
    /// Replaced credentials, until they are retired from the scrubber.
    replaced: VecDeque<Entry>,
}

impl Cache {
    /// What a call starting at `now` does.
    pub fn decide(&self, now: Timestamp) -> Decision {
        let backing_off = self.failure.as_ref().filter(|f| now < f.retry_after);
        match &self.current {
            Some(entry) if !entry.refused && now < entry.refresh_at() => {
                Decision::Use(entry.credentials.clone())
            }
            Some(entry) if !entry.refused && now < entry.usable_until() => match backing_off {
                Some(_) => Decision::Use(entry.credentials.clone()),
                None => Decision::Refresh {
                    fallback: Some(entry.credentials.clone()),
                },
            },
            current => match backing_off {
                Some(failure) => Decision::Fail {
                    reason: failure.reason.clone(),
                    expired: current.as_ref().map(|entry| entry.expires),
                },
                None => Decision::Refresh { fallback: None },
            },
        }
    }

    /// Takes freshly issued credentials, fetched at `now`. Returns the credentials that may
    /// now leave the scrubber's list (replaced ones long expired).
    pub fn refreshed(&mut self, issued: Issued, now: Timestamp) -> Vec<Arc<Credentials>> {
        let entry = Entry {
            credentials: Arc::new(issued.credentials),
            issued: now,
            expires: issued.expiration,
            refused: false,
        };
        if let Some(old) = self.current.replace(entry) {
            self.replaced.push_back(old);
        }
        self.failure = None;
        let mut retired = Vec::new();
        while let Some(old) = self.replaced.front() {
            if old.expires + RETIRE_AFTER > now && self.replaced.len() <= 16 {
                break;
            }
            if let Some(old) = self.replaced.pop_front() {
                retired.push(old.credentials);
            }
        }
        retired
    }

    /// Records a failed refresh at `now`: the next is tried after a pause that doubles from 1 s
    /// to 30 s, and never past the moment the current credentials stop being usable.
    pub fn failed(&mut self, reason: String, now: Timestamp) {
        let pause = self
            .failure
            .as_ref()
            .map_or(MIN_RETRY_PAUSE, |f| (f.pause * 2).min(MAX_RETRY_PAUSE));
        let mut retry_after = now + pause;
        if let Some(entry) = &self.current
            && now < entry.usable_until()
        {
            retry_after = retry_after.min(entry.usable_until());
        }
        self.failure = Some(Failure {
            reason,
            retry_after,
            pause,
        });
    }

    /// The cloud refused `access_key_id` as expired: unless newer credentials are already in
    /// use, the next call refreshes first, without a fallback.
    pub fn refused(&mut self, access_key_id: &str) {
        if let Some(entry) = &mut self.current
            && entry.credentials.access_key_id == access_key_id
        {
            entry.refused = true;
            self.failure = None;
        }
    }

    /// Why the last refresh failed, while no refresh has succeeded since.
    pub fn refresh_error(&self) -> Option<&str> {
        self.failure.as_ref().map(|failure| failure.reason.as_str())
    }

    /// The key id in use's last four characters.
    pub fn key_hint(&self) -> Option<String> {
        self.current
            .as_ref()
            .map(|entry| entry.credentials.key_hint())
    }

    /// When the credentials in use expire.
    pub fn expires(&self) -> Option<Timestamp> {
        self.current.as_ref().map(|entry| entry.expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kvsync_secrets::Secret;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap()
    }

    fn issued(id: &str, expires: i64) -> Issued {
        Issued {
            credentials: Credentials {
                access_key_id: id.into(),
                access_key_secret: Secret::new("cache-test-secret-Hn3"),
                security_token: Some(Secret::new("cache-test-token-Hn3")),
            },
            expiration: at(expires),
        }
    }

    fn key(decision: &Decision) -> Option<&str> {
        match decision {
            Decision::Use(c) => Some(&c.access_key_id),
            _ => None,
        }
    }

    #[test]
    fn nothing_cached_refreshes_without_a_fallback() {
        assert!(matches!(
            Cache::default().decide(at(0)),
            Decision::Refresh { fallback: None }
        ));
    }

    #[test]
    fn credentials_are_used_until_80_percent_of_their_lifetime() {
        let mut cache = Cache::default();
        cache.refreshed(issued("a", 20), at(0));
        assert_eq!(key(&cache.decide(at(15))), Some("a"));
        match cache.decide(at(16)) {
            Decision::Refresh { fallback: Some(c) } => assert_eq!(c.access_key_id, "a"),
            other => panic!("{other:?}"),
        }
        cache.refreshed(issued("b", 40), at(16));
        assert_eq!(key(&cache.decide(at(17))), Some("b"));
    }

    #[test]
    fn a_failed_refresh_keeps_the_old_credentials_until_they_expire_then_fails() {
        let mut cache = Cache::default();
        cache.refreshed(issued("a", 20), at(0));
        cache.failed("STS is down".into(), at(16));
        // Backing off: the old ones, without another refresh.
        assert_eq!(key(&cache.decide(at(16))), Some("a"));
        // After the pause, a refresh may be tried again, with the old ones as fallback.
        assert!(matches!(
            cache.decide(at(17)),
            Decision::Refresh { fallback: Some(_) }
        ));
        cache.failed("STS is down".into(), at(17));
        cache.failed("STS is down".into(), at(18));
        // Past usable_until (20 - 2): no fallback; a refresh is due once the pause is over.
        assert!(matches!(
            cache.decide(at(23)),
            Decision::Refresh { fallback: None }
        ));
        cache.failed("STS is down".into(), at(23));
        match cache.decide(at(23)) {
            Decision::Fail { reason, expired } => {
                assert_eq!(reason, "STS is down");
                assert_eq!(expired, Some(at(20)));
            }
            other => panic!("{other:?}"),
        }
        // Recovery.
        cache.refreshed(issued("b", 60), at(30));
        assert_eq!(key(&cache.decide(at(31))), Some("b"));
    }

    #[test]
    fn pauses_double_up_to_30_seconds_and_never_pass_the_last_usable_moment() {
        let mut cache = Cache::default();
        for n in 0..10 {
            cache.failed("down".into(), at(n * 100));
        }
        let failure = cache.failure.as_ref().unwrap();
        assert_eq!(failure.pause, MAX_RETRY_PAUSE);
        let mut cache = Cache::default();
        cache.refreshed(issued("a", 20), at(0));
        for _ in 0..10 {
            cache.failed("down".into(), at(17));
        }
        // usable_until = 20 - 2.
        assert_eq!(cache.failure.as_ref().unwrap().retry_after, at(18));
    }

    #[test]
    fn a_refusal_as_expired_forces_a_refresh_of_that_key_only() {
        let mut cache = Cache::default();
        cache.refreshed(issued("a", 1000), at(0));
        cache.refused("other");
        assert_eq!(key(&cache.decide(at(1))), Some("a"));
        cache.refused("a");
        assert!(matches!(
            cache.decide(at(1)),
            Decision::Refresh { fallback: None }
        ));
    }

    #[test]
    fn replaced_credentials_are_retired_after_they_expire() {
        let mut cache = Cache::default();
        assert!(cache.refreshed(issued("a", 20), at(0)).is_empty());
        assert!(cache.refreshed(issued("b", 40), at(16)).is_empty());
        let retired = cache.refreshed(issued("c", 2000), at(20 + 15 * 60 + 1));
        assert_eq!(retired.len(), 1);
        assert_eq!(retired[0].access_key_id, "a");
    }
}
