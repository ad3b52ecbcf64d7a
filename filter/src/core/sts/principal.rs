//! The OAuth token processor's output: who the minted token speaks for.
//! The caller's access token was accepted by the resource server's
//! resolvers (JWT or introspection); its claims become the subject and the
//! attributes of what the STS mints, by the configured mapping.

use serde_json::{Map, Value};

/// Attribute values taken from one claim at most (the rest is dropped).
pub const MAX_VALUES: usize = 64;

/// One configured attribute: the claim read and the name it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeRule {
    /// Top-level claim of the caller's token.
    pub claim: String,
    /// Attribute name in the minted JWT / SAML assertion.
    pub name: String,
}

/// The claim mapping (validated configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The claim naming the subject (default `sub`).
    pub subject_claim: String,
    /// The claims copied as attributes, in order.
    pub attributes: Vec<AttributeRule>,
}

/// A minted token's subject and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Subject (`sub`, `NameID`).
    pub subject: String,
    /// Attributes: name and values (at least one), in configuration order.
    pub attributes: Vec<(String, Vec<String>)>,
}

/// The caller's token does not name a subject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token has no string claim {0} to take the subject from")]
pub struct NoSubject(pub String);

/// A claim value as attribute values: a string, number or boolean is one
/// value; an array gives one per such element; objects, null and nested
/// arrays give none.
fn values(v: &Value) -> Vec<String> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
    match v {
        Value::Array(items) => items.iter().filter_map(scalar).take(MAX_VALUES).collect(),
        v => scalar(v).into_iter().collect(),
    }
}

impl Mapping {
    /// The principal of a token with these claims.
    pub fn principal(&self, claims: &Map<String, Value>) -> Result<Principal, NoSubject> {
        let subject = match claims.get(&self.subject_claim) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(NoSubject(self.subject_claim.clone())),
        };
        let attributes = self
            .attributes
            .iter()
            .filter_map(|r| {
                let v = values(claims.get(&r.claim)?);
                (!v.is_empty()).then(|| (r.name.clone(), v))
            })
            .collect();
        Ok(Principal {
            subject,
            attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping() -> Mapping {
        let rule = |c: &str, n: &str| AttributeRule {
            claim: c.into(),
            name: n.into(),
        };
        Mapping {
            subject_claim: "username".into(),
            attributes: vec![
                rule("email", "mail"),
                rule("groups", "groups"),
                rule("age", "age"),
                rule("missing", "missing"),
                rule("obj", "obj"),
            ],
        }
    }

    #[test]
    fn subject_and_attributes_by_the_mapping() {
        let claims = json!({"username": "alice", "email": "a@x", "groups": ["g1", 2, {"x": 1}, true],
                            "age": 42, "obj": {"a": 1}});
        let p = mapping().principal(claims.as_object().unwrap()).unwrap();
        assert_eq!(p.subject, "alice");
        assert_eq!(
            p.attributes,
            vec![
                ("mail".into(), vec!["a@x".into()]),
                (
                    "groups".into(),
                    vec!["g1".into(), "2".into(), "true".into()]
                ),
                ("age".into(), vec!["42".into()]),
            ]
        );
    }

    #[test]
    fn subject_must_be_a_non_empty_string() {
        for claims in [json!({}), json!({"username": 7}), json!({"username": ""})] {
            let e = mapping()
                .principal(claims.as_object().unwrap())
                .unwrap_err();
            assert_eq!(e, NoSubject("username".into()));
        }
    }
}
