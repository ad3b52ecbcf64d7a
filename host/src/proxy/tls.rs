//! TLS: rustls server configs for listeners (ALPN `h2`/`http/1.1`,
//! optional or required client certificates), client configs for `https://`
//! clusters, and the facts about a downstream TLS session that properties
//! expose ([`TlsInfo`]).
//!
//! rustls runs on the `ring` provider.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::{ClientCertificateMode, ClusterTls, ConfigError, ListenerTls};
use crate::runtime::TlsInfo;

/// The crypto provider every TLS config of the host uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path, field: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError::new(field, format!("cannot read {}: {e}", path.display())))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::new(field, format!("bad PEM in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ConfigError::new(
            field,
            format!("no CERTIFICATE block in {}", path.display()),
        ));
    }
    Ok(certs)
}

fn read_key(path: &Path, field: &str) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = std::fs::read(path)
        .map_err(|e| ConfigError::new(field, format!("cannot read {}: {e}", path.display())))?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| ConfigError::new(field, format!("bad PEM in {}: {e}", path.display())))?
        .ok_or_else(|| ConfigError::new(field, format!("no private key in {}", path.display())))
}

fn read_roots(path: &Path, field: &str) -> Result<Arc<RootCertStore>, ConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, field)? {
        roots.add(cert).map_err(|e| {
            ConfigError::new(
                field,
                format!("bad CA certificate in {}: {e}", path.display()),
            )
        })?;
    }
    Ok(Arc::new(roots))
}

/// The rustls server config of listener `index`.
pub fn server_config(
    tls: &ListenerTls,
    index: usize,
) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let field = |name: &str| format!("listeners[{index}].tls.{name}");
    let certs = read_certs(&tls.certificate, &field("certificate"))?;
    let key = read_key(&tls.private_key, &field("private_key"))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new(field("certificate"), e.to_string()))?;
    let builder = match (tls.client_certificate, &tls.client_ca) {
        (ClientCertificateMode::None, _) | (_, None) => builder.with_no_client_auth(),
        (mode, Some(ca)) => {
            let roots = read_roots(ca, &field("client_ca"))?;
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
            let verifier = match mode {
                ClientCertificateMode::Optional => verifier.allow_unauthenticated(),
                _ => verifier,
            };
            let verifier = verifier
                .build()
                .map_err(|e| ConfigError::new(field("client_ca"), e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| ConfigError::new(field("private_key"), e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The rustls client config of cluster `index` (an `https://` cluster).
/// `alpn_h2` offers `h2` before `http/1.1`.
pub fn client_config(
    tls: &ClusterTls,
    index: usize,
    alpn_h2: bool,
) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    let field = |name: &str| format!("clusters[{index}].tls.{name}");
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::new(field("ca"), e.to_string()))?;
    let builder = match &tls.ca {
        Some(ca) if !tls.danger_accept_invalid_certificates => {
            builder.with_root_certificates(read_roots(ca, &field("ca"))?)
        }
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(DangerAcceptAnyCertificate(provider()))),
    };
    let mut config = match (&tls.client_certificate, &tls.client_private_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                read_certs(cert, &field("client_certificate"))?,
                read_key(key, &field("client_private_key"))?,
            )
            .map_err(|e| ConfigError::new(field("client_private_key"), e.to_string()))?,
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = if alpn_h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// `danger_accept_invalid_certificates`: checks handshake signatures but not
/// the certificate chain or name.
#[derive(Debug)]
struct DangerAcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for DangerAcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Facts about an established server-side session.
pub fn session_info(connection: &rustls::ServerConnection) -> TlsInfo {
    let version = match connection.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let mut info = TlsInfo {
        version,
        sni: connection.server_name().map(str::to_string),
        ..TlsInfo::default()
    };
    if let Some(leaf) = connection
        .peer_certificates()
        .and_then(|certs| certs.first())
    {
        let facts = certificate_facts(leaf.as_ref());
        info.peer_subject = facts.subject;
        info.peer_uri_sans = facts.uri_sans;
        info.peer_dns_sans = facts.dns_sans;
        info.peer_certificate_der = Some(leaf.as_ref().to_vec());
    }
    info
}

/// What properties expose about a certificate.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CertificateFacts {
    /// Subject in RFC 2253 form (`CN=client,O=Example`), most specific RDN first.
    pub subject: Option<String>,
    /// URI subject alternative names.
    pub uri_sans: Vec<String>,
    /// DNS subject alternative names.
    pub dns_sans: Vec<String>,
}

/// Parses a DER certificate. A certificate rustls accepted but x509-parser
/// cannot read yields empty facts rather than an error.
pub fn certificate_facts(der: &[u8]) -> CertificateFacts {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return CertificateFacts::default();
    };
    let mut facts = CertificateFacts {
        subject: Some(rfc2253(cert.subject())),
        ..Default::default()
    };
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::URI(uri) => {
                    facts.uri_sans.push(uri.to_string())
                }
                x509_parser::extensions::GeneralName::DNSName(dns) => {
                    facts.dns_sans.push(dns.to_string())
                }
                _ => {}
            }
        }
    }
    facts
}

/// RFC 2253: RDNs in reverse order of the encoding, `,` between RDNs, `+`
/// inside a multi-valued RDN, short names for the standard attributes and
/// the dotted OID with `#<hex DER>` for the others.
fn rfc2253(name: &x509_parser::x509::X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|attr| {
                    let oid = attr.attr_type().to_id_string();
                    match (short_name(&oid), attr.as_str()) {
                        (Some(short), Ok(value)) => format!("{short}={}", escape_rfc2253(value)),
                        _ => {
                            let value = attr.attr_value();
                            let tag = value.header.tag().0;
                            let data = value.data;
                            let mut der = vec![u8::try_from(tag).unwrap_or(0x04)];
                            der.extend(der_length(data.len()));
                            der.extend_from_slice(data);
                            format!("{oid}=#{}", abi_wire::hex::lower(&der))
                        }
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn der_length(len: usize) -> Vec<u8> {
    if len < 0x80 {
        // proof: len < 128 fits in one byte
        return vec![len as u8];
    }
    let bytes: Vec<u8> = len
        .to_be_bytes()
        .into_iter()
        .skip_while(|b| *b == 0)
        .collect();
    // proof: a usize has at most 8 bytes, so the count fits in 7 bits
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn short_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// Escapes an attribute value as RFC 2253 section 2.4 asks.
pub fn escape_rfc2253(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_rfc2253("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape_rfc2253("#x "), "\\#x\\ ");
        assert_eq!(escape_rfc2253(" a\"<>;\\"), "\\ a\\\"\\<\\>\\;\\\\");
        assert_eq!(escape_rfc2253("plain"), "plain");
    }

    #[test]
    fn certificate_subject_and_sans() {
        let mut params = rcgen::CertificateParams::new(vec!["client.example".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CountryName, "DE");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example, Inc");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "client-1");
        params.subject_alt_names.push(rcgen::SanType::URI(
            rcgen::Ia5String::try_from("spiffe://example/client").unwrap(),
        ));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let facts = certificate_facts(cert.der());
        assert_eq!(
            facts.subject.as_deref(),
            Some("CN=client-1,O=Example\\, Inc,C=DE")
        );
        assert_eq!(facts.dns_sans, vec!["client.example"]);
        assert_eq!(facts.uri_sans, vec!["spiffe://example/client"]);
        assert_eq!(certificate_facts(b"junk"), CertificateFacts::default());
    }

    #[test]
    fn long_der_lengths() {
        assert_eq!(der_length(5), vec![5]);
        assert_eq!(der_length(200), vec![0x81, 200]);
        assert_eq!(der_length(0x1234), vec![0x82, 0x12, 0x34]);
    }
}
