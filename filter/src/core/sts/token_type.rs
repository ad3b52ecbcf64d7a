//! The four token types the STS issues (PingFederate's STS OAuth
//! integration): an assertion grant the caller presents itself, or the
//! access-token response the STS obtained with that grant.

use serde::Deserialize;

/// `grant_type` of an RFC 7523 JWT bearer grant.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `grant_type` of an RFC 7522 SAML 2.0 bearer grant.
pub const SAML2_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:saml2-bearer";

/// The assertion minted for a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assertion {
    /// A JWT (RFC 7523 §2.1).
    Jwt,
    /// A SAML 2.0 assertion (RFC 7522), base64url-encoded as the grant.
    Saml2,
}

impl Assertion {
    /// The `grant_type` it is presented with.
    pub fn grant_type(self) -> &'static str {
        match self {
            Assertion::Jwt => JWT_BEARER_GRANT,
            Assertion::Saml2 => SAML2_BEARER_GRANT,
        }
    }
}

/// A `wst:TokenType` the STS issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum TokenType {
    /// The JWT itself.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
    /// The AS's token response for the JWT.
    #[serde(
        rename = "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:jwt-bearer"
    )]
    AccessTokenViaJwtBearer,
    /// The SAML assertion itself.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:saml2-bearer")]
    Saml2Bearer,
    /// The AS's token response for the SAML assertion.
    #[serde(
        rename = "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:saml2-bearer"
    )]
    AccessTokenViaSaml2Bearer,
}

impl TokenType {
    /// All four, in the order above.
    pub const ALL: [TokenType; 4] = [
        TokenType::JwtBearer,
        TokenType::AccessTokenViaJwtBearer,
        TokenType::Saml2Bearer,
        TokenType::AccessTokenViaSaml2Bearer,
    ];

    /// From the text of `wst:TokenType` (exact match).
    pub fn parse(uri: &str) -> Option<TokenType> {
        TokenType::ALL.into_iter().find(|t| t.uri() == uri)
    }

    /// The URI.
    pub fn uri(self) -> &'static str {
        match self {
            TokenType::JwtBearer => JWT_BEARER_GRANT,
            TokenType::Saml2Bearer => SAML2_BEARER_GRANT,
            TokenType::AccessTokenViaJwtBearer => {
                "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:jwt-bearer"
            }
            TokenType::AccessTokenViaSaml2Bearer => {
                "oauth-v2:access:token:response|via|urn:ietf:params:oauth:grant-type:saml2-bearer"
            }
        }
    }

    /// The assertion minted for it.
    pub fn assertion(self) -> Assertion {
        match self {
            TokenType::JwtBearer | TokenType::AccessTokenViaJwtBearer => Assertion::Jwt,
            TokenType::Saml2Bearer | TokenType::AccessTokenViaSaml2Bearer => Assertion::Saml2,
        }
    }

    /// Whether the STS redeems the assertion at the AS and answers with its
    /// token response.
    pub fn is_via(self) -> bool {
        matches!(
            self,
            TokenType::AccessTokenViaJwtBearer | TokenType::AccessTokenViaSaml2Bearer
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIA_PREFIX: &str = "oauth-v2:access:token:response|via|";

    #[test]
    fn uris_round_trip_and_match_serde() {
        for t in TokenType::ALL {
            assert_eq!(TokenType::parse(t.uri()), Some(t));
            let v: TokenType = serde_json::from_value(serde_json::json!(t.uri())).unwrap();
            assert_eq!(v, t);
            assert_eq!(t.is_via(), t.uri().starts_with(VIA_PREFIX));
            assert!(t.uri().ends_with(t.assertion().grant_type()));
        }
        assert_eq!(
            TokenType::parse("urn:ietf:params:oauth:grant-type:JWT-bearer"),
            None
        );
    }
}
