//! The enveloped XML signature of an assertion (XML Signature 1.1 §6.6.4,
//! SAML 2.0 core §5.4): one `Reference` to the assertion's `ID`, the
//! enveloped-signature and exclusive-c14n transforms, SHA-256 digest,
//! RSA-SHA256 over the exclusive canonical form of `SignedInfo`, and the key
//! in `KeyInfo` (the configured certificate, else the RSA public key).
//!
//! The digest is taken over the assertion before the signature is put in:
//! that is exactly what the enveloped-signature transform leaves, and its
//! exclusive canonical form is what [`canonical`] writes (see
//! `super::super::xml`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::super::key::StsKey;
use super::super::mint::MintError;
use super::super::xml::c14n::canonical;
use super::super::xml::ns::DS;
use super::super::xml::Element;
use super::assertion::SIGNATURE_POSITION;

/// Exclusive XML Canonicalization 1.0, without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// RSA PKCS #1 v1.5 with SHA-256 (RFC 6931 §2.3.2).
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// SHA-256 digest.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

fn ds(local: &'static str) -> Element {
    Element::new(DS, local)
}

fn algorithm(local: &'static str, uri: &str) -> Result<Element, MintError> {
    Ok(ds(local).attr("Algorithm", uri)?)
}

/// `assertion` (whose `ID` is `_` + `id`) with its signature inserted.
/// `certificate` (DER) goes into `KeyInfo` when given.
pub fn sign_enveloped(
    mut assertion: Element,
    id: &str,
    key: &StsKey,
    certificate: Option<&[u8]>,
) -> Result<Element, MintError> {
    let digest = Sha256::digest(canonical(&assertion).as_bytes());
    let reference = ds("Reference")
        .attr("URI", &format!("#_{id}"))?
        .child(
            ds("Transforms")
                .child(algorithm("Transform", ENVELOPED)?)
                .child(algorithm("Transform", EXC_C14N)?),
        )
        .child(algorithm("DigestMethod", SHA256)?)
        .child(ds("DigestValue").text(&STANDARD.encode(digest))?);
    let signed_info = ds("SignedInfo")
        .child(algorithm("CanonicalizationMethod", EXC_C14N)?)
        .child(algorithm("SignatureMethod", RSA_SHA256)?)
        .child(reference);
    let value = key
        .sign_rsa_sha256(canonical(&signed_info).as_bytes())
        .ok_or(MintError::Sign)?;
    let key_info = match certificate {
        Some(der) => ds("KeyInfo")
            .child(ds("X509Data").child(ds("X509Certificate").text(&STANDARD.encode(der))?)),
        None => {
            let (n, e) = key.rsa_public().ok_or(MintError::Sign)?;
            ds("KeyInfo").child(
                ds("KeyValue").child(
                    ds("RSAKeyValue")
                        .child(ds("Modulus").text(&STANDARD.encode(n))?)
                        .child(ds("Exponent").text(&STANDARD.encode(e))?),
                ),
            )
        }
    };
    let signature = ds("Signature")
        .child(signed_info)
        .child(ds("SignatureValue").text(&STANDARD.encode(value))?)
        .child(key_info);
    assertion.insert_child(SIGNATURE_POSITION, signature);
    Ok(assertion)
}
