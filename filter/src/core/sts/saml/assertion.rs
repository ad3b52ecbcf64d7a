//! The unsigned `saml:Assertion` (SAML 2.0 core §2.3.3, shaped by RFC 7522
//! §3): `Issuer`, `Subject` (`NameID`, a bearer `SubjectConfirmation` whose
//! data names the token endpoint as `Recipient` and ends at
//! `NotOnOrAfter`), `Conditions` (`NotBefore`, `NotOnOrAfter`, an
//! `AudienceRestriction` with the AS), an `AuthnStatement` and, when the
//! mapping gives attributes, an `AttributeStatement`. The signature goes
//! right after `Issuer` ([`SIGNATURE_POSITION`]), as the schema orders it.

use super::super::mint::{MintError, Statement};
use super::super::xml::ns::SAML;
use super::super::xml::Element;

/// Index among the assertion's children where `ds:Signature` goes.
pub const SIGNATURE_POSITION: usize = 1;

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const AUTHN_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified";
const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";
const ATTRNAME_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";

/// An attribute name that is an `xs:NCName` can use the basic name format;
/// others (URIs, names with `:`) are written unspecified.
fn name_format(name: &str) -> &'static str {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        ATTRNAME_BASIC
    } else {
        ATTRNAME_UNSPECIFIED
    }
}

/// The assertion `st` describes, unsigned.
pub fn build(st: &Statement<'_>, name_id_format: &str) -> Result<Element, MintError> {
    let t = st.times;
    let el = |local| Element::new(SAML, local);
    let subject = el("Subject")
        .child(
            el("NameID")
                .attr("Format", name_id_format)?
                .text(&st.principal.subject)?,
        )
        .child(
            el("SubjectConfirmation").attr("Method", BEARER)?.child(
                el("SubjectConfirmationData")
                    .attr("NotOnOrAfter", &t.expires.rfc3339())?
                    .attr("Recipient", st.recipient)?,
            ),
        );
    let conditions = el("Conditions")
        .attr("NotBefore", &t.not_before.rfc3339())?
        .attr("NotOnOrAfter", &t.expires.rfc3339())?
        .child(el("AudienceRestriction").child(el("Audience").text(st.audience)?));
    let authn = el("AuthnStatement")
        .attr("AuthnInstant", &t.issued.rfc3339())?
        .child(el("AuthnContext").child(el("AuthnContextClassRef").text(AUTHN_CONTEXT)?));
    let mut assertion = el("Assertion")
        .attr("ID", &format!("_{}", st.id))?
        .attr("IssueInstant", &t.issued.rfc3339())?
        .attr("Version", "2.0")?
        .child(el("Issuer").text(st.issuer)?)
        .child(subject)
        .child(conditions)
        .child(authn);
    if !st.principal.attributes.is_empty() {
        let mut statement = el("AttributeStatement");
        for (name, values) in &st.principal.attributes {
            let mut a = el("Attribute")
                .attr("Name", name)?
                .attr("NameFormat", name_format(name))?;
            for v in values {
                a = a.child(el("AttributeValue").text(v)?);
            }
            statement = statement.child(a);
        }
        assertion = assertion.child(statement);
    }
    Ok(assertion)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_formats() {
        assert_eq!(name_format("mail"), ATTRNAME_BASIC);
        assert_eq!(name_format("_x.y-z1"), ATTRNAME_BASIC);
        assert_eq!(
            name_format("urn:oid:0.9.2342.19200300.100.1.3"),
            ATTRNAME_UNSPECIFIED
        );
        assert_eq!(name_format("1a"), ATTRNAME_UNSPECIFIED);
        assert_eq!(name_format(""), ATTRNAME_UNSPECIFIED);
    }
}
