//! Tests of the shared introspection answer cache.

use super::*;
use crate::core::shared::MemoryStore;
use serde_json::json;

fn cfg(max: usize, local: usize) -> IntrospectionCacheConfig {
    IntrospectionCacheConfig {
        max_entries: max,
        local_max_entries: local,
        ..IntrospectionCacheConfig::default()
    }
}

fn active(exp_s: Option<u64>) -> Answer {
    let mut m = Map::new();
    m.insert("active".into(), json!(true));
    if let Some(e) = exp_s {
        m.insert("exp".into(), json!(e));
    }
    Answer::Active(m)
}

const T0: UnixMillis = UnixMillis(1_000_000_000);

#[test]
fn one_callout_across_two_workers() {
    let mut s = MemoryStore::default();
    let mut ev = Vec::new();
    let mut a = AnswerCache::new(cfg(64, 16), "p", "x", "wa", 3000);
    let mut b = AnswerCache::new(cfg(64, 16), "p", "x", "wb", 3000);
    a.init(&mut s);
    b.init(&mut s);
    let d = [7u8; 32];
    assert_eq!(a.lookup(&d, None, T0, &mut s, &mut ev), Lookup::Claimed);
    a.started(d, CalloutId::Introspection(1), T0);
    assert_eq!(a.lookup(&d, None, T0, &mut s, &mut ev), Lookup::InFlight);
    assert_eq!(b.lookup(&d, None, T0, &mut s, &mut ev), Lookup::OtherWorker);
    a.complete(
        CalloutId::Introspection(1),
        &Ok(active(None)),
        T0,
        &mut s,
        &mut ev,
    );
    assert!(matches!(
        b.lookup(&d, Some(T0), T0.plus_ms(50), &mut s, &mut ev),
        Lookup::Hit(Cached::Active(_))
    ));
    assert_eq!(b.local_len(), 1, "b copied it to its front cache");
}

#[test]
fn lifetimes_follow_exp_bounded_by_max_default_and_inactive() {
    let c = IntrospectionCacheConfig::default(); // max 300 s, default 60 s, inactive 10 s
    let now_s = T0.0 / 1000;
    assert_eq!(c.until(&active(Some(now_s + 30)), T0), T0.plus_secs(30));
    assert_eq!(c.until(&active(Some(now_s + 3600)), T0), T0.plus_secs(300));
    assert_eq!(c.until(&active(None), T0), T0.plus_secs(60));
    assert_eq!(c.until(&Answer::Inactive, T0), T0.plus_secs(10));

    let mut s = MemoryStore::default();
    let mut ev = Vec::new();
    let mut a = AnswerCache::new(c, "p", "x", "wa", 3000);
    let d = [1u8; 32];
    assert_eq!(a.lookup(&d, None, T0, &mut s, &mut ev), Lookup::Claimed);
    a.started(d, CalloutId::Introspection(1), T0);
    a.complete(
        CalloutId::Introspection(1),
        &Ok(Answer::Inactive),
        T0,
        &mut s,
        &mut ev,
    );
    let at = |ms| T0.plus_ms(ms);
    let mut a2 = AnswerCache::new(IntrospectionCacheConfig::default(), "p", "x", "wb", 3000);
    assert_eq!(
        a.lookup(&d, None, at(9_999), &mut s, &mut ev),
        Lookup::Hit(Cached::Inactive)
    );
    assert_eq!(
        a2.lookup(&d, None, at(9_999), &mut s, &mut ev),
        Lookup::Hit(Cached::Inactive),
        "shared"
    );
    assert_eq!(
        a.lookup(&d, None, at(10_000), &mut s, &mut ev),
        Lookup::Claimed
    );
}

#[test]
fn buckets_are_bounded_and_evict_the_soonest_expiring() {
    let mut s = MemoryStore::default();
    let mut ev = Vec::new();
    // One bucket of WAYS slots, no local cache: everything goes through shared data.
    let mut a = AnswerCache::new(cfg(WAYS, 0), "p", "x", "wa", 3000);
    a.init(&mut s);
    let now_s = T0.0 / 1000;
    for i in 0..(WAYS as u8 + 2) {
        let d = [i; 32];
        assert_eq!(a.lookup(&d, None, T0, &mut s, &mut ev), Lookup::Claimed);
        a.started(d, CalloutId::Introspection(u64::from(i)), T0);
        // Token i expires after 100 + i seconds.
        let ans = active(Some(now_s + 100 + u64::from(i)));
        a.complete(
            CalloutId::Introspection(u64::from(i)),
            &Ok(ans),
            T0,
            &mut s,
            &mut ev,
        );
    }
    let (b, _) = a.read(&s, &a.bucket_key(&[0; 32]));
    assert_eq!(b.e.len(), WAYS);
    let evictions = ev
        .iter()
        .filter(|e| **e == Event::Metric(Metric::AnswerCacheEviction))
        .count();
    assert_eq!(evictions, 2);
    for i in 0..2u8 {
        assert_eq!(
            a.lookup(&[i; 32], None, T0, &mut s, &mut ev),
            Lookup::Claimed,
            "{i} evicted"
        );
    }
    assert_eq!(s.len(), 1, "one shared key, whatever the number of tokens");
}

#[test]
fn local_front_cache_is_bounded() {
    let mut s = MemoryStore::default();
    let mut ev = Vec::new();
    let mut a = AnswerCache::new(cfg(0, 2), "p", "x", "wa", 3000);
    for i in 0..3u8 {
        assert_eq!(
            a.lookup(&[i; 32], None, T0, &mut s, &mut ev),
            Lookup::Claimed
        );
        a.started([i; 32], CalloutId::Introspection(u64::from(i)), T0);
        a.complete(
            CalloutId::Introspection(u64::from(i)),
            &Ok(active(None)),
            T0,
            &mut s,
            &mut ev,
        );
    }
    assert_eq!(a.local_len(), 2);
    assert!(ev.contains(&Event::Metric(Metric::AnswerCacheEviction)));
}

#[test]
fn failure_answers_waiters_and_lets_new_requests_retry() {
    let mut s = MemoryStore::default();
    let mut ev = Vec::new();
    let mut a = AnswerCache::new(cfg(64, 16), "p", "x", "wa", 3000);
    let mut b = AnswerCache::new(cfg(64, 16), "p", "x", "wb", 3000);
    a.init(&mut s);
    let d = [9u8; 32];
    assert_eq!(a.lookup(&d, None, T0, &mut s, &mut ev), Lookup::Claimed);
    a.started(d, CalloutId::Introspection(1), T0);
    assert_eq!(b.lookup(&d, None, T0, &mut s, &mut ev), Lookup::OtherWorker);
    let t1 = T0.plus_ms(2000);
    a.complete(
        CalloutId::Introspection(1),
        &Err(IntrospectionError::NoResponse),
        t1,
        &mut s,
        &mut ev,
    );
    assert_eq!(a.lookup(&d, Some(T0), t1, &mut s, &mut ev), Lookup::Failed);
    assert_eq!(b.lookup(&d, Some(T0), t1, &mut s, &mut ev), Lookup::Failed);
    assert_eq!(
        b.lookup(&d, None, t1.plus_ms(1), &mut s, &mut ev),
        Lookup::Claimed
    );
}

#[test]
fn dead_owner_lease_expires_and_stale_callouts_are_abandoned() {
    let mut s = MemoryStore::default();
    let mut ev = Vec::new();
    let mut a = AnswerCache::new(cfg(64, 16), "p", "x", "wa", 3000);
    let mut b = AnswerCache::new(cfg(64, 16), "p", "x", "wb", 3000);
    a.init(&mut s);
    let d = [3u8; 32];
    assert_eq!(a.lookup(&d, None, T0, &mut s, &mut ev), Lookup::Claimed);
    a.started(d, CalloutId::Introspection(5), T0);
    assert_eq!(
        b.lookup(&d, None, T0.plus_ms(2999), &mut s, &mut ev),
        Lookup::OtherWorker
    );
    assert_eq!(
        b.lookup(&d, None, T0.plus_ms(3000), &mut s, &mut ev),
        Lookup::Claimed
    );
    assert_eq!(
        a.on_tick(T0.plus_ms(3001), &mut s, &mut ev),
        vec![CalloutId::Introspection(5)]
    );
    assert!(!a.owns(CalloutId::Introspection(5)));
    // b's claim survives a's abandonment.
    let (bk, _) = a.read(&s, &a.bucket_key(&d));
    assert!(bk
        .e
        .iter()
        .any(|x| x.st == SlotState::Pending { o: "wb".into() }));
}
