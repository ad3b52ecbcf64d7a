//! DPoP server nonces (RFC 9449 §8, §9), stateless: a nonce names a time
//! period and carries a MAC of it under the configured key, so every worker
//! and every proxy with the same key issues and accepts the same nonces with
//! no shared state. The current and the previous period's nonces pass.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::core::config::binding::DpopNonce;
use crate::core::util::time::UnixMillis;

fn nonce_for(cfg: &DpopNonce, period: u64) -> String {
    let mut out = period.to_be_bytes().to_vec();
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&cfg.key) {
        mac.update(b"oauth-filter dpop nonce\n");
        mac.update(&period.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes()[..16]);
    }
    URL_SAFE_NO_PAD.encode(out)
}

fn period(cfg: &DpopNonce, now: UnixMillis) -> u64 {
    now.0 / cfg.lifetime_ms.max(1)
}

/// The nonce to hand out now (`DPoP-Nonce`).
pub fn current(cfg: &DpopNonce, now: UnixMillis) -> String {
    nonce_for(cfg, period(cfg, now))
}

/// The nonces a proof may carry now: this period's and the previous one's.
pub fn accepted(cfg: &DpopNonce, now: UnixMillis) -> [String; 2] {
    let p = period(cfg, now);
    [nonce_for(cfg, p), nonce_for(cfg, p.saturating_sub(1))]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(key: &[u8]) -> DpopNonce {
        DpopNonce {
            key: key.to_vec(),
            lifetime_ms: 1_000,
        }
    }

    #[test]
    fn nonces_last_two_periods_and_need_the_key() {
        let c = cfg(&[7; 32]);
        let n = current(&c, UnixMillis(10_500));
        assert!(accepted(&c, UnixMillis(10_999)).contains(&n));
        assert!(accepted(&c, UnixMillis(11_200)).contains(&n));
        assert!(!accepted(&c, UnixMillis(12_000)).contains(&n));
        assert!(!accepted(&cfg(&[8; 32]), UnixMillis(10_500)).contains(&n));
        assert!(super::super::dpop::valid_nonce(&n));
    }
}
