//! What both assertion minters share: the validity window (PingFederate's
//! default: valid from 5 minutes before issue to 30 minutes after), the
//! statement they make, a fresh identifier, and their one error type.

use rand_core::CryptoRngCore;

use super::principal::Principal;
use super::xml::XmlError;
use crate::core::util::time::UnixMillis;

/// Default seconds before issue an assertion is already valid.
pub const DEFAULT_NOT_BEFORE_S: u64 = 300;
/// Default seconds after issue an assertion stays valid.
pub const DEFAULT_LIFETIME_S: u64 = 1800;

/// The validity window (validated configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Valid from this many seconds before issue (clock skew at the AS).
    pub not_before_s: u64,
    /// Valid until this many seconds after issue.
    pub lifetime_s: u64,
}

impl Default for Window {
    fn default() -> Window {
        Window {
            not_before_s: DEFAULT_NOT_BEFORE_S,
            lifetime_s: DEFAULT_LIFETIME_S,
        }
    }
}

/// An assertion's instants, whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// Issue instant (`iat`, `IssueInstant`).
    pub issued: UnixMillis,
    /// Valid from (`nbf`, `NotBefore`).
    pub not_before: UnixMillis,
    /// Valid until, exclusive (`exp`, `NotOnOrAfter`).
    pub expires: UnixMillis,
}

impl Window {
    /// The instants of an assertion issued at `now` (truncated to seconds).
    pub fn at(&self, now: UnixMillis) -> Times {
        let s = now.0 / 1000;
        Times {
            issued: UnixMillis::from_secs(s),
            not_before: UnixMillis::from_secs(s.saturating_sub(self.not_before_s)),
            expires: UnixMillis::from_secs(s.saturating_add(self.lifetime_s)),
        }
    }
}

/// What an assertion states, whatever its format.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// The STS (`iss`, `Issuer`).
    pub issuer: &'a str,
    /// The AS the assertion is for (`aud`, `Audience`).
    pub audience: &'a str,
    /// The token endpoint it is presented at (SAML `Recipient`).
    pub recipient: &'a str,
    /// Subject and attributes.
    pub principal: &'a Principal,
    /// When it is valid.
    pub times: Times,
    /// Unique identifier (`jti`; the SAML `ID` is `_` and this).
    pub id: &'a str,
}

/// A fresh identifier: 16 random bytes in lowercase hex.
pub fn new_id(rng: &mut dyn CryptoRngCore) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Why an assertion could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    /// The key did not sign (wrong type for the format, or unusable).
    #[error("the STS key cannot sign this assertion")]
    Sign,
    /// A value cannot be written as XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_window_is_five_minutes_before_to_thirty_after() {
        let t = Window::default().at(UnixMillis(1_800_000_000_999));
        assert_eq!(t.issued, UnixMillis::from_secs(1_800_000_000));
        assert_eq!(t.not_before, UnixMillis::from_secs(1_800_000_000 - 300));
        assert_eq!(t.expires, UnixMillis::from_secs(1_800_000_000 + 1800));
    }

    #[test]
    fn ids_are_fresh_hex() {
        let mut rng = rand_core::OsRng;
        let (a, b) = (new_id(&mut rng), new_id(&mut rng));
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
