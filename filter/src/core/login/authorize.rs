//! The URLs the browser is sent to: the authorization request (RFC 6749
//! §4.1.1 with PKCE S256, RFC 7636, and the OIDC `nonce`) and the
//! RP-initiated logout (OIDC RP-Initiated Logout 1.0 §2).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::session::Transaction;
use crate::core::config::login::Registration;
use crate::core::util::form::form_body;

/// `code_challenge` for `verifier` (S256).
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn join(base: &str, params: &[(String, String)]) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", form_body(params))
}

/// The authorization request for login `tx`.
pub fn url(reg: &Registration, redirect_uri: &str, tx: &Transaction) -> String {
    let mut p: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), reg.auth.client_id().to_owned()),
        ("redirect_uri".into(), redirect_uri.to_owned()),
        ("scope".into(), reg.scopes.join(" ")),
        ("state".into(), tx.state.clone()),
        ("nonce".into(), tx.nonce.clone()),
        ("code_challenge".into(), code_challenge(&tx.verifier)),
        ("code_challenge_method".into(), "S256".into()),
    ];
    if let Some(prompt) = &reg.prompt {
        p.push(("prompt".into(), prompt.clone()));
    }
    p.extend(reg.extra_params.iter().cloned());
    join(&reg.authorization_endpoint, &p)
}

/// The end-session request after a logout; `goto` (made absolute on
/// `origin`) is where the browser ends up when no
/// `post_logout_redirect_uri` is configured.
pub fn end_session_url(
    end: &str,
    reg: &Registration,
    id_token: Option<&str>,
    goto: &str,
    origin: &str,
) -> String {
    let mut p: Vec<(String, String)> = vec![("client_id".into(), reg.auth.client_id().to_owned())];
    if let Some(t) = id_token {
        p.push(("id_token_hint".into(), t.to_owned()));
    }
    let back = match &reg.post_logout_redirect_uri {
        Some(u) => u.clone(),
        None if goto.starts_with('/') => format!("{origin}{goto}"),
        None => goto.to_owned(),
    };
    p.push(("post_logout_redirect_uri".into(), back));
    join(end, &p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
