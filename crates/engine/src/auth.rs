//! Management authentication: where the key is read, the decision order of
//! upstream CLIProxyAPI v7.2.140, the per-address ban and the verified-key cache.
//!
//! Decision order, first match wins:
//! 1. address banned: 403;
//! 2. remote client while remote management is off: 403;
//! 3. no key configured: 403;
//! 4. no key provided: 401, counted as a failure;
//! 5. local `-password` or `MANAGEMENT_PASSWORD` matches: pass;
//! 6. bcrypt matches the configured hash: pass;
//! 7. otherwise: 401, counted as a failure.
//!
//! Five failures ban the address for 30 minutes, local addresses included.
//! A success clears the address's record.
//!
//! Two deliberate improvements over upstream:
//! - A key that passed bcrypt is remembered as an HMAC-SHA256 tag (random
//!   per-process key), compared in constant time, so a signed-in client does
//!   not pay a cost-10 bcrypt verification per request. The cache lives in the
//!   settings snapshot, so a reload or key change drops it. Wrong keys always
//!   pay bcrypt and count as failures.
//! - A bcrypt verification first reserves one of the address's five failure
//!   slots, so concurrent wrong keys from one address never run more than five
//!   verifications per ban window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::client_ip::is_local;
use crate::duration::format_go_seconds;

/// Failures from one address before it is banned (upstream constant).
pub const MAX_FAILURES: u32 = 5;
/// How long a ban lasts (upstream constant).
pub const BAN_DURATION: Duration = Duration::from_secs(30 * 60);
/// Records that are not banned and saw no failure for this long are pruned.
const STALE_AFTER: Duration = Duration::from_secs(2 * 3600);
/// Verified keys remembered per settings snapshot; the oldest is evicted first.
const MAX_VERIFIED_KEYS: usize = 16;

/// Reads the management key like upstream.
///
/// `Authorization: Bearer <key>` (scheme case-insensitive, the rest taken
/// verbatim, so `Bearer  k` yields ` k`); any other non-empty `Authorization`
/// value is the key as a whole; only when that is empty is `X-Management-Key`
/// read. No query parameter or cookie is consulted.
pub fn management_key(headers: &HeaderMap) -> String {
    let authorization = header_text(headers, header::AUTHORIZATION.as_str());
    let mut key = String::new();
    if !authorization.is_empty() {
        key = match authorization.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.to_string(),
            _ => authorization.clone(),
        };
    }
    if key.is_empty() {
        key = header_text(headers, "x-management-key");
    }
    key
}

/// Returns a header's first value with surrounding whitespace removed (as Go's
/// HTTP parser delivers it), or an empty string.
pub fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_string())
        .unwrap_or_default()
}

/// Why a management request was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The address is banned for the remaining time.
    Banned(Duration),
    RemoteDisabled,
    KeyNotSet,
    MissingKey,
    InvalidKey,
}

impl Rejection {
    /// Returns the HTTP status upstream sends.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Banned(_) | Rejection::RemoteDisabled | Rejection::KeyNotSet => {
                StatusCode::FORBIDDEN
            }
            Rejection::MissingKey | Rejection::InvalidKey => StatusCode::UNAUTHORIZED,
        }
    }

    /// Returns the `error` text upstream sends.
    pub fn message(&self) -> String {
        match self {
            Rejection::Banned(remaining) => format!(
                "IP banned due to too many failed attempts. Try again in {}",
                format_go_seconds(*remaining)
            ),
            Rejection::RemoteDisabled => "remote management disabled".to_string(),
            Rejection::KeyNotSet => "remote management key not set".to_string(),
            Rejection::MissingKey => "missing management key".to_string(),
            Rejection::InvalidKey => "invalid management key".to_string(),
        }
    }
}

#[derive(Debug)]
struct Record {
    failures: u32,
    reserved: u32,
    banned_until: Option<Instant>,
    last_failure: Instant,
}

/// What [`BanTable::reserve`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// A failure slot is held; call [`BanTable::finish`] with the outcome.
    Granted,
    /// The address is banned for the remaining time.
    Banned(Duration),
    /// Every slot is held by a verification in flight; wait and retry.
    Full,
}

/// Failure counts and bans per client address, in memory only.
#[derive(Debug, Default)]
pub struct BanTable {
    records: Mutex<HashMap<String, Record>>,
    released: tokio::sync::Notify,
}

impl BanTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        // A panic while holding this lock cannot leave a record half-updated in
        // a way that matters more than losing the ban table, so keep going.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the remaining ban time, clearing an expired ban (and the
    /// failure count with it, like upstream).
    pub fn banned(&self, ip: &str, now: Instant) -> Option<Duration> {
        let mut records = self.lock();
        let record = records.get_mut(ip)?;
        let until = record.banned_until?;
        if now < until {
            return Some(until - now);
        }
        record.banned_until = None;
        record.failures = 0;
        None
    }

    /// Counts one failure that needed no verification (a missing key).
    pub fn fail(&self, ip: &str, now: Instant) {
        let mut records = self.lock();
        let record = records.entry(ip.to_string()).or_insert(Record {
            failures: 0,
            reserved: 0,
            banned_until: None,
            last_failure: now,
        });
        Self::count_failure(record, now);
    }

    fn count_failure(record: &mut Record, now: Instant) {
        record.last_failure = now;
        if record.banned_until.is_some_and(|until| now < until) {
            return;
        }
        record.failures += 1;
        if record.failures >= MAX_FAILURES {
            record.banned_until = Some(now + BAN_DURATION);
            record.failures = 0;
        }
    }

    /// Clears the address's failures and ban after a successful check.
    pub fn succeed(&self, ip: &str) {
        let mut records = self.lock();
        if let Some(record) = records.get_mut(ip) {
            record.failures = 0;
            record.banned_until = None;
            if record.reserved == 0 {
                records.remove(ip);
            }
        }
    }

    /// Reserves a failure slot before a verification that may fail.
    ///
    /// At most `MAX_FAILURES` minus the failures already counted may be held
    /// at once, so the verifications that could still fail never outnumber
    /// the failures left before the ban.
    pub fn reserve(&self, ip: &str, now: Instant) -> Reservation {
        let mut records = self.lock();
        let record = records.entry(ip.to_string()).or_insert(Record {
            failures: 0,
            reserved: 0,
            banned_until: None,
            last_failure: now,
        });
        if let Some(until) = record.banned_until {
            if now < until {
                return Reservation::Banned(until - now);
            }
            record.banned_until = None;
            record.failures = 0;
        }
        if record.failures + record.reserved >= MAX_FAILURES {
            return Reservation::Full;
        }
        record.reserved += 1;
        Reservation::Granted
    }

    /// Releases a slot from [`BanTable::reserve`] with the verification's outcome.
    pub fn finish(&self, ip: &str, success: bool, now: Instant) {
        {
            let mut records = self.lock();
            if let Some(record) = records.get_mut(ip) {
                record.reserved = record.reserved.saturating_sub(1);
                if success {
                    record.failures = 0;
                    record.banned_until = None;
                } else {
                    Self::count_failure(record, now);
                }
            }
        }
        self.released.notify_waiters();
    }

    /// Returns a future that completes at the next [`BanTable::finish`].
    pub fn released(&self) -> tokio::sync::futures::Notified<'_> {
        self.released.notified()
    }

    /// Drops records that are not banned and saw no failure for two hours.
    pub fn prune(&self, now: Instant) {
        let mut records = self.lock();
        records.retain(|_, record| {
            let banned = record.banned_until.is_some_and(|until| now < until);
            banned
                || record.reserved > 0
                || now.saturating_duration_since(record.last_failure) < STALE_AFTER
        });
    }
}

/// A keyed hash of a presented key; never the key itself.
pub type KeyTag = [u8; 32];

/// Computes [`KeyTag`]s with a random key chosen at process start.
pub struct KeyTagger {
    mac_key: [u8; 32],
}

impl KeyTagger {
    /// Creates a tagger with a fresh random key.
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut mac_key = [0u8; 32];
        getrandom::fill(&mut mac_key)?;
        Ok(Self { mac_key })
    }

    /// Returns HMAC-SHA256 of `key` under the process key.
    pub fn tag(&self, key: &str) -> KeyTag {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(key.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// Tags of keys that passed bcrypt against one configured secret.
#[derive(Debug, Default)]
pub struct VerifiedKeys {
    tags: Mutex<Vec<KeyTag>>,
}

impl VerifiedKeys {
    /// Returns whether `tag` is remembered, comparing every entry in constant time.
    pub fn contains(&self, tag: &KeyTag) -> bool {
        let tags = self
            .tags
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut found = subtle::Choice::from(0u8);
        for stored in tags.iter() {
            found |= stored.ct_eq(tag);
        }
        found.into()
    }

    /// Remembers `tag`, evicting the oldest entry when full.
    pub fn insert(&self, tag: KeyTag) {
        let mut tags = self
            .tags
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if tags.iter().any(|stored| bool::from(stored.ct_eq(&tag))) {
            return;
        }
        if tags.len() >= MAX_VERIFIED_KEYS {
            tags.remove(0);
        }
        tags.push(tag);
    }
}

/// Compares two secrets in constant time for equal lengths.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Everything one management check needs.
pub struct Attempt<'a> {
    pub client_ip: &'a str,
    pub provided: &'a str,
    /// Configured secret as held in memory (a bcrypt hash), empty when unset.
    pub secret: &'a str,
    pub allow_remote: bool,
    /// `MANAGEMENT_PASSWORD`, trimmed, when set; it forces remote access on.
    pub env_password: Option<&'a str>,
    /// `-password`, accepted from local clients only.
    pub local_password: Option<&'a str>,
    /// Cache of this secret's verified keys, `None` when caching is disabled.
    pub verified: Option<&'a VerifiedKeys>,
    pub tagger: &'a KeyTagger,
    pub bans: &'a BanTable,
}

/// Runs the management decision for one request.
pub async fn authenticate(attempt: Attempt<'_>) -> Result<(), Rejection> {
    let ip = attempt.client_ip;
    if let Some(remaining) = attempt.bans.banned(ip, Instant::now()) {
        return Err(Rejection::Banned(remaining));
    }
    let local = is_local(ip);
    let allow_remote = attempt.allow_remote || attempt.env_password.is_some();
    if !local && !allow_remote {
        return Err(Rejection::RemoteDisabled);
    }
    if attempt.secret.is_empty() && attempt.env_password.is_none() {
        return Err(Rejection::KeyNotSet);
    }
    if attempt.provided.is_empty() {
        attempt.bans.fail(ip, Instant::now());
        return Err(Rejection::MissingKey);
    }
    if local
        && attempt
            .local_password
            .is_some_and(|password| secrets_equal(attempt.provided, password))
    {
        attempt.bans.succeed(ip);
        return Ok(());
    }
    if attempt
        .env_password
        .is_some_and(|password| secrets_equal(attempt.provided, password))
    {
        attempt.bans.succeed(ip);
        return Ok(());
    }
    if attempt.secret.is_empty() {
        attempt.bans.fail(ip, Instant::now());
        return Err(Rejection::InvalidKey);
    }

    let tag = attempt.tagger.tag(attempt.provided);
    if attempt.verified.is_some_and(|cache| cache.contains(&tag)) {
        attempt.bans.succeed(ip);
        return Ok(());
    }

    loop {
        // Register for the wake-up before looking, so a release between the
        // look and the wait is not missed.
        let released = attempt.bans.released();
        match attempt.bans.reserve(ip, Instant::now()) {
            Reservation::Granted => break,
            Reservation::Banned(remaining) => return Err(Rejection::Banned(remaining)),
            Reservation::Full => {
                // The timeout only bounds the wait if a wake-up is ever lost.
                let _ = tokio::time::timeout(Duration::from_millis(500), released).await;
            }
        }
    }

    let provided = attempt.provided.to_string();
    let secret = attempt.secret.to_string();
    let matched = tokio::task::spawn_blocking(move || {
        cpa_config::secret::verify_password(&provided, &secret)
    })
    .await
    .unwrap_or(false);
    attempt.bans.finish(ip, matched, Instant::now());
    if !matched {
        return Err(Rejection::InvalidKey);
    }
    if let Some(cache) = attempt.verified {
        cache.insert(tag);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn key_from_bearer_is_not_trimmed() {
        assert_eq!(
            management_key(&headers(&[("authorization", "Bearer abc")])),
            "abc"
        );
        assert_eq!(
            management_key(&headers(&[("authorization", "bEaReR  abc")])),
            " abc"
        );
    }

    #[test]
    fn key_from_raw_authorization_is_whole_value() {
        assert_eq!(
            management_key(&headers(&[("authorization", "Basic xyz")])),
            "Basic xyz"
        );
        assert_eq!(
            management_key(&headers(&[("authorization", "Bearer")])),
            "Bearer"
        );
        assert_eq!(
            management_key(&headers(&[("authorization", "secret")])),
            "secret"
        );
    }

    #[test]
    fn authorization_hides_management_key_header() {
        let map = headers(&[
            ("authorization", "Basic xyz"),
            ("x-management-key", "right"),
        ]);
        assert_eq!(management_key(&map), "Basic xyz");
        let map = headers(&[("x-management-key", "right")]);
        assert_eq!(management_key(&map), "right");
        assert_eq!(management_key(&HeaderMap::new()), "");
    }

    #[test]
    fn rejection_texts_match_upstream() {
        assert_eq!(
            Rejection::RemoteDisabled.message(),
            "remote management disabled"
        );
        assert_eq!(
            Rejection::KeyNotSet.message(),
            "remote management key not set"
        );
        assert_eq!(Rejection::MissingKey.message(), "missing management key");
        assert_eq!(Rejection::InvalidKey.message(), "invalid management key");
        assert_eq!(
            Rejection::Banned(BAN_DURATION).message(),
            "IP banned due to too many failed attempts. Try again in 30m0s"
        );
        assert_eq!(Rejection::MissingKey.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(Rejection::KeyNotSet.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn fifth_failure_bans_and_resets_count() {
        let table = BanTable::default();
        let now = Instant::now();
        for _ in 0..4 {
            table.fail("127.0.0.1", now);
            assert_eq!(table.banned("127.0.0.1", now), None);
        }
        table.fail("127.0.0.1", now);
        assert_eq!(table.banned("127.0.0.1", now), Some(BAN_DURATION));
        let later = now + BAN_DURATION + Duration::from_secs(1);
        assert_eq!(table.banned("127.0.0.1", later), None);
        table.fail("127.0.0.1", later);
        assert_eq!(
            table.banned("127.0.0.1", later),
            None,
            "count restarts after expiry"
        );
    }

    #[test]
    fn success_clears_failures() {
        let table = BanTable::default();
        let now = Instant::now();
        for _ in 0..4 {
            table.fail("::1", now);
        }
        table.succeed("::1");
        for _ in 0..4 {
            table.fail("::1", now);
        }
        assert_eq!(table.banned("::1", now), None);
    }

    #[test]
    fn reservations_never_exceed_remaining_failures() {
        let table = BanTable::default();
        let now = Instant::now();
        table.fail("10.0.0.1", now);
        let granted = (0..8)
            .filter(|_| table.reserve("10.0.0.1", now) == Reservation::Granted)
            .count();
        assert_eq!(granted, 4);
        for _ in 0..4 {
            table.finish("10.0.0.1", false, now);
        }
        assert_eq!(
            table.reserve("10.0.0.1", now),
            Reservation::Banned(BAN_DURATION)
        );
    }

    #[test]
    fn addresses_are_counted_separately() {
        let table = BanTable::default();
        let now = Instant::now();
        for _ in 0..5 {
            table.fail("10.0.0.1", now);
        }
        assert!(table.banned("10.0.0.1", now).is_some());
        assert!(table.banned("10.0.0.2", now).is_none());
    }

    #[test]
    fn prune_keeps_bans_and_recent_failures() {
        let table = BanTable::default();
        let now = Instant::now();
        let later = now + STALE_AFTER;
        table.fail("old", now);
        for _ in 0..5 {
            table.fail("banned", later);
        }
        table.prune(later + Duration::from_secs(1));
        assert!(table.lock().contains_key("banned"));
        assert!(!table.lock().contains_key("old"));
    }

    #[test]
    fn verified_keys_match_only_same_key() {
        let tagger = KeyTagger::new().unwrap();
        let cache = VerifiedKeys::default();
        cache.insert(tagger.tag("right"));
        assert!(cache.contains(&tagger.tag("right")));
        assert!(!cache.contains(&tagger.tag("wrong")));
        let other = KeyTagger::new().unwrap();
        assert_ne!(
            other.tag("right"),
            tagger.tag("right"),
            "tags depend on the process key"
        );
    }

    #[test]
    fn verified_keys_evict_oldest() {
        let tagger = KeyTagger::new().unwrap();
        let cache = VerifiedKeys::default();
        for index in 0..=MAX_VERIFIED_KEYS {
            cache.insert(tagger.tag(&format!("key-{index}")));
        }
        assert!(!cache.contains(&tagger.tag("key-0")));
        assert!(cache.contains(&tagger.tag(&format!("key-{MAX_VERIFIED_KEYS}"))));
    }

    fn attempt<'a>(
        ip: &'a str,
        provided: &'a str,
        secret: &'a str,
        tagger: &'a KeyTagger,
        bans: &'a BanTable,
        verified: Option<&'a VerifiedKeys>,
    ) -> Attempt<'a> {
        Attempt {
            client_ip: ip,
            provided,
            secret,
            allow_remote: false,
            env_password: None,
            local_password: None,
            verified,
            tagger,
            bans,
        }
    }

    #[tokio::test]
    async fn decision_order_matches_upstream() {
        let tagger = KeyTagger::new().unwrap();
        let bans = BanTable::default();
        let hash = cpa_config::secret::hash_password_with_cost("right-key", 4).unwrap();

        // A remote client with remote management off is rejected before the key check.
        let result = authenticate(attempt("192.0.2.1", "", &hash, &tagger, &bans, None)).await;
        assert_eq!(result, Err(Rejection::RemoteDisabled));

        // No configured key wins over a missing key.
        let result = authenticate(attempt("127.0.0.1", "", "", &tagger, &bans, None)).await;
        assert_eq!(result, Err(Rejection::KeyNotSet));

        let result = authenticate(attempt("127.0.0.1", "", &hash, &tagger, &bans, None)).await;
        assert_eq!(result, Err(Rejection::MissingKey));

        let result = authenticate(attempt("127.0.0.1", "nope", &hash, &tagger, &bans, None)).await;
        assert_eq!(result, Err(Rejection::InvalidKey));

        let result = authenticate(attempt(
            "127.0.0.1",
            "right-key",
            &hash,
            &tagger,
            &bans,
            None,
        ))
        .await;
        assert_eq!(result, Ok(()));
    }

    #[tokio::test]
    async fn env_password_forces_remote_and_passes() {
        let tagger = KeyTagger::new().unwrap();
        let bans = BanTable::default();
        let mut remote = attempt("192.0.2.1", "env-secret", "", &tagger, &bans, None);
        remote.env_password = Some("env-secret");
        assert_eq!(authenticate(remote).await, Ok(()));
    }

    #[tokio::test]
    async fn local_password_only_from_local_clients() {
        let tagger = KeyTagger::new().unwrap();
        let bans = BanTable::default();
        let hash = cpa_config::secret::hash_password_with_cost("config-key", 4).unwrap();
        let mut local = attempt("::1", "flag-pass", &hash, &tagger, &bans, None);
        local.local_password = Some("flag-pass");
        assert_eq!(authenticate(local).await, Ok(()));

        let mut remote = attempt("192.0.2.1", "flag-pass", &hash, &tagger, &bans, None);
        remote.local_password = Some("flag-pass");
        remote.allow_remote = true;
        assert_eq!(authenticate(remote).await, Err(Rejection::InvalidKey));

        // Without a configured key the local password alone is not enough.
        let mut unset = attempt("::1", "flag-pass", "", &tagger, &bans, None);
        unset.local_password = Some("flag-pass");
        assert_eq!(authenticate(unset).await, Err(Rejection::KeyNotSet));
    }

    #[tokio::test]
    async fn ban_blocks_even_the_right_key() {
        let tagger = KeyTagger::new().unwrap();
        let bans = BanTable::default();
        let hash = cpa_config::secret::hash_password_with_cost("right-key", 4).unwrap();
        for _ in 0..5 {
            let result =
                authenticate(attempt("127.0.0.1", "wrong", &hash, &tagger, &bans, None)).await;
            assert_eq!(result, Err(Rejection::InvalidKey));
        }
        let result = authenticate(attempt(
            "127.0.0.1",
            "right-key",
            &hash,
            &tagger,
            &bans,
            None,
        ))
        .await;
        assert!(matches!(result, Err(Rejection::Banned(_))), "{result:?}");
    }

    #[tokio::test]
    async fn cache_skips_bcrypt_only_for_verified_key() {
        let tagger = KeyTagger::new().unwrap();
        let bans = BanTable::default();
        let cache = VerifiedKeys::default();
        let hash = cpa_config::secret::hash_password_with_cost("right-key", 4).unwrap();
        let first = authenticate(attempt(
            "127.0.0.1",
            "right-key",
            &hash,
            &tagger,
            &bans,
            Some(&cache),
        ))
        .await;
        assert_eq!(first, Ok(()));
        assert!(cache.contains(&tagger.tag("right-key")));
        let wrong = authenticate(attempt(
            "127.0.0.1",
            "wrong",
            &hash,
            &tagger,
            &bans,
            Some(&cache),
        ))
        .await;
        assert_eq!(wrong, Err(Rejection::InvalidKey));
        assert!(!cache.contains(&tagger.tag("wrong")));
    }
}
