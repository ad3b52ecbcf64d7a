//! Bearer token extraction (RFC 6750 §2.1, plus optional header and cookie).

use crate::core::config::TokenConfig;
use crate::core::error::{Rejection, RequestError, TokenError};

/// How the token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750), or the configured header or cookie.
    Bearer,
    /// `Authorization: DPoP` (RFC 9449 §7.1), with a `DPoP` proof header.
    Dpop,
}

/// Find the request's token, refusing what RFC 6750 calls malformed.
pub fn extract<'h>(
    cfg: &TokenConfig,
    headers: &'h [(String, String)],
) -> Result<&'h str, Rejection> {
    extract_with_scheme(cfg, headers).map(|(t, _)| t)
}

/// [`extract`], with the scheme the token came with.
pub fn extract_with_scheme<'h>(
    cfg: &TokenConfig,
    headers: &'h [(String, String)],
) -> Result<(&'h str, Scheme), Rejection> {
    let found = locate(cfg, headers)?;
    found.check(cfg)?;
    Ok((found.token, found.scheme))
}

/// A token found in the request whose content is not checked yet
/// ([`Located::check`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Located<'h> {
    /// The token.
    pub token: &'h str,
    /// The scheme it came with.
    pub scheme: Scheme,
    /// From `Authorization` (a comma there means a list of credentials).
    from_authorization: bool,
}

impl std::fmt::Debug for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Located")
            .field("token", &format_args!("<{} bytes>", self.token.len()))
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

/// Where the token is: one `Authorization` header with the `Bearer` or
/// `DPoP` scheme, else the configured header or cookie. What this refuses
/// does not depend on the token's bytes; [`Located::check`] refuses the
/// rest. `Resolvers::resolve` runs the check only for a token its cache
/// does not hold (a cached token passed the same check when it was
/// verified, under the same configuration), so a cached request does not
/// scan its token twice.
pub fn locate<'h>(
    cfg: &TokenConfig,
    headers: &'h [(String, String)],
) -> Result<Located<'h>, Rejection> {
    let mut auth = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"));
    let found = match (auth.next(), auth.next()) {
        (Some(_), Some(_)) => {
            return Err(Rejection::InvalidRequest(
                RequestError::MultipleAuthorization,
            ))
        }
        (Some((_, v)), None) => match credentials(v)? {
            // Bearer and DPoP names have no comma, so a comma in the value
            // is in the token: `check` refuses it as a list.
            Some(t) => Some(t),
            // A comma never appears in one credential (b64token, token68):
            // it is a list, as Envoy presents repeated headers joined with
            // ",".
            None if v.contains(',') => {
                return Err(Rejection::InvalidRequest(
                    RequestError::MultipleAuthorization,
                ))
            }
            None => return Err(Rejection::NoToken),
        },
        (None, _) => None,
    };
    Ok(match found {
        Some((token, scheme)) => Located {
            token,
            scheme,
            from_authorization: true,
        },
        None => Located {
            token: from_alternatives(cfg, headers)?.ok_or(Rejection::NoToken)?,
            scheme: Scheme::Bearer,
            from_authorization: false,
        },
    })
}

impl Located<'_> {
    /// Refuse a token that is a list (a comma in `Authorization`), too
    /// large, or not an RFC 6750 b64token.
    pub fn check(&self, cfg: &TokenConfig) -> Result<(), Rejection> {
        let token = self.token;
        if self.from_authorization && token.contains(',') {
            return Err(Rejection::InvalidRequest(
                RequestError::MultipleAuthorization,
            ));
        }
        check_token(cfg, token)
    }
}

/// Refuse a token larger than `token.max_bytes` or that is not an RFC 6750
/// b64token. Every token the verified-token cache holds passed this (the
/// resource server's [`Located::check`], the token service's caller token).
pub fn check_token(cfg: &TokenConfig, token: &str) -> Result<(), Rejection> {
    if token.len() > cfg.max_bytes {
        return Err(Rejection::InvalidToken(TokenError::TooLarge));
    }
    // RFC 6750 b64token: ALPHA DIGIT - . _ ~ + / then optional '='.
    let body = token.trim_end_matches('=');
    // A plain loop: the iterator adapters are not inlined at opt-level z.
    for &b in body.as_bytes() {
        if !B64TOKEN[usize::from(b)] {
            return Err(Rejection::InvalidToken(TokenError::BadCharacters));
        }
    }
    Ok(())
}

/// The bytes of an RFC 6750 b64token before its `=` padding, as a table
/// (one load per byte: the check runs over every token of every request).
static B64TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    t
};

/// `Bearer <token>` or `DPoP <token>` → Some; another scheme → None.
fn credentials(value: &str) -> Result<Option<(&str, Scheme)>, Rejection> {
    let value = value.trim_matches([' ', '\t']);
    let (name, rest) = match value.find([' ', '\t']) {
        Some(i) => (&value[..i], value[i..].trim_start_matches([' ', '\t'])),
        None => (value, ""),
    };
    let scheme = if name.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if name.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Ok(None);
    };
    if rest.is_empty() {
        return Err(Rejection::InvalidRequest(RequestError::EmptyBearer));
    }
    Ok(Some((rest, scheme)))
}

/// `Bearer <token>` → Some(token); another scheme → None.
fn bearer(value: &str) -> Result<Option<&str>, Rejection> {
    Ok(match credentials(value)? {
        Some((t, Scheme::Bearer)) => Some(t),
        _ => None,
    })
}

fn from_alternatives<'h>(
    cfg: &TokenConfig,
    headers: &'h [(String, String)],
) -> Result<Option<&'h str>, Rejection> {
    if let Some(name) = &cfg.header {
        let mut hs = headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
        match (hs.next(), hs.next()) {
            (Some(_), Some(_)) => {
                return Err(Rejection::InvalidRequest(
                    RequestError::MultipleAuthorization,
                ))
            }
            (Some((_, v)), None) => {
                let v = v.trim_matches([' ', '\t']);
                return match bearer(v)? {
                    Some(t) => Ok(Some(t)),
                    None if v.is_empty() => Ok(None),
                    None => Ok(Some(v)),
                };
            }
            (None, _) => {}
        }
    }
    if let Some(name) = &cfg.cookie {
        let found = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim_matches('"'));
        if let Some(v) = found.filter(|v| !v.is_empty()) {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let c = TokenConfig::default();
        assert_eq!(
            extract(&c, &h(&[("authorization", "bEaReR  abc.def-_")])),
            Ok("abc.def-_")
        );
    }

    /// `locate` refuses only what does not depend on the token's bytes;
    /// `check` the rest, in the order `extract` refuses them.
    #[test]
    fn locate_then_check() {
        let c = TokenConfig::default();
        let loc = |v: &str| {
            let hs = h(&[("authorization", v)]);
            locate(&c, &hs).map(|l| (l.token.to_owned(), l.check(&c)))
        };
        let multiple = Rejection::InvalidRequest(RequestError::MultipleAuthorization);
        assert_eq!(loc("Bearer a,b"), Ok(("a,b".into(), Err(multiple.clone()))));
        assert_eq!(loc("Basic a,b"), Err(multiple));
        assert_eq!(
            loc("DPoP a b"),
            Ok((
                "a b".into(),
                Err(Rejection::InvalidToken(TokenError::BadCharacters))
            ))
        );
        assert_eq!(loc("Bearer abc=="), Ok(("abc==".into(), Ok(()))));
        let big = "a".repeat(c.max_bytes + 1);
        assert_eq!(
            loc(&format!("Bearer {big}")).map(|(_, r)| r),
            Ok(Err(Rejection::InvalidToken(TokenError::TooLarge)))
        );
        let l = format!(
            "{:?}",
            locate(&c, &h(&[("authorization", "Bearer secret")]))
        );
        assert!(!l.contains("secret"), "{l}");
    }

    #[test]
    fn refusals() {
        let c = TokenConfig::default();
        assert_eq!(extract(&c, &h(&[])), Err(Rejection::NoToken));
        assert_eq!(
            extract(&c, &h(&[("authorization", "Basic dTpw")])),
            Err(Rejection::NoToken)
        );
        assert_eq!(
            extract(
                &c,
                &h(&[("authorization", "Bearer a"), ("Authorization", "Bearer b")])
            ),
            Err(Rejection::InvalidRequest(
                RequestError::MultipleAuthorization
            ))
        );
        assert_eq!(
            extract(&c, &h(&[("authorization", "Bearer a,Bearer b")])),
            Err(Rejection::InvalidRequest(
                RequestError::MultipleAuthorization
            ))
        );
        assert_eq!(
            extract(&c, &h(&[("authorization", "Basic dTpw, Bearer b")])),
            Err(Rejection::InvalidRequest(
                RequestError::MultipleAuthorization
            ))
        );
        assert_eq!(
            extract(&c, &h(&[("authorization", "Bearer")])),
            Err(Rejection::InvalidRequest(RequestError::EmptyBearer))
        );
        assert_eq!(
            extract(&c, &h(&[("authorization", "Bearer a b")])),
            Err(Rejection::InvalidToken(TokenError::BadCharacters))
        );
        let big = format!("Bearer {}", "a".repeat(8193));
        assert_eq!(
            extract(&c, &h(&[("authorization", &big)])),
            Err(Rejection::InvalidToken(TokenError::TooLarge))
        );
    }

    #[test]
    fn alternatives_are_off_by_default_and_work_when_set() {
        let hs = h(&[("x-token", "t1"), ("cookie", "a=1; at=t2")]);
        assert_eq!(
            extract(&TokenConfig::default(), &hs),
            Err(Rejection::NoToken)
        );
        let c = TokenConfig {
            header: Some("x-token".into()),
            ..TokenConfig::default()
        };
        assert_eq!(extract(&c, &hs), Ok("t1"));
        let c = TokenConfig {
            cookie: Some("at".into()),
            ..TokenConfig::default()
        };
        assert_eq!(extract(&c, &hs), Ok("t2"));
    }
}
