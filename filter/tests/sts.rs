//! The STS's assertions checked by independent implementations: JWTs by
//! pyjwt and jwcrypto (sts/verify_jwt.py), SAML assertions by `xmlsec1
//! --verify` and signxml (sts/verify_saml.py), and against the SAML 2.0
//! schema with `xmllint --schema` (sts/xsd/). `cargo xtask test` installs
//! them; a plain `cargo test` without them skips these checks with a
//! message (under xtask, `OAUTH_E2E=1`, a missing tool is a failure).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use oauth_filter::core::config::Secrets;
use oauth_filter::core::sts::config::{parse, Sts};
use oauth_filter::core::sts::mint::{new_id, Statement};
use oauth_filter::core::sts::principal::Principal;
use oauth_filter::core::sts::rstr::{answer, Issued};
use oauth_filter::core::sts::{jwt_bearer, rst, saml, TokenType};
use oauth_filter::core::UnixMillis;
use serde_json::{json, Value};

const NOW_S: u64 = 1_800_000_000;
const TOKEN_ENDPOINT: &str = "https://as.test/oauth/token";

fn keys() -> Value {
    serde_json::from_str(include_str!("sts/keys.json")).unwrap()
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sts")
}

fn config(extra: Value) -> Sts {
    let ks = keys();
    let mut c = json!({
        "path": "/sts",
        "issuer": "https://gw.test/sts",
        "signing_key": ks["rsa"]["private"],
        "mapping": {"subject_claim": "sub", "attributes": [
            {"claim": "email", "name": "mail"}, {"claim": "groups"}]},
        "applies_to": [{"address": TOKEN_ENDPOINT, "cluster": "as",
            "client_auth": {"method": "client_secret_basic", "client_id": "sts", "client_secret": "s"}}]
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    parse(c.to_string().as_bytes(), &Secrets::new()).unwrap()
}

fn principal(sts: &Sts) -> Principal {
    let claims = json!({"sub": "alice & <bob>", "email": "alice@example.test",
                        "groups": ["admins", "dev\"ops"], "scope": "x"});
    sts.mapping.principal(claims.as_object().unwrap()).unwrap()
}

/// Whether `cmd --version` runs; else skip (a failure under xtask).
fn have(cmd: &mut Command, what: &str) -> bool {
    let ok = cmd.output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        assert!(
            std::env::var("OAUTH_E2E").as_deref() != Ok("1"),
            "{what} is missing"
        );
        eprintln!("skipping: {what} is missing (cargo xtask test installs it)");
    }
    ok
}

fn python() -> Command {
    Command::new(std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into()))
}

/// Runs a verify script with `input` on stdin; it must print "ok".
fn run_script(script: &str, input: &Value) {
    let mut child = python()
        .arg(dir().join(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "{script}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn statement<'a>(sts: &'a Sts, p: &'a Principal, id: &'a str) -> Statement<'a> {
    let ep = sts.endpoint(TOKEN_ENDPOINT).unwrap();
    Statement {
        issuer: &sts.issuer,
        audience: &ep.audience,
        recipient: &ep.address,
        principal: p,
        times: sts.window.at(UnixMillis(NOW_S * 1000 + 321)),
        id,
    }
}

#[test]
fn jwt_bearer_assertions_verify_with_pyjwt_and_jwcrypto() {
    if !have(
        python().args(["-c", "import jwt, jwcrypto"]),
        "python with pyjwt and jwcrypto",
    ) {
        return;
    }
    let ks = keys();
    for (key, alg) in [("rsa", "RS256"), ("rsa", "PS256"), ("p256", "ES256")] {
        let sts = config(
            json!({"signing_key": ks[key]["private"], "jwt_algorithm": alg,
            "token_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
            "validity": {"not_before_s": 60, "lifetime_s": 600}}),
        );
        let p = principal(&sts);
        let id = new_id(&mut rand_core::OsRng);
        let jwt = jwt_bearer::mint(
            &sts.jwt_key,
            &statement(&sts, &p, &id),
            &mut rand_core::OsRng,
        )
        .unwrap();
        run_script(
            "verify_jwt.py",
            &json!({"token": jwt, "public": ks[key]["public"], "alg": alg,
                "iss": "https://gw.test/sts", "sub": "alice & <bob>", "aud": TOKEN_ENDPOINT,
                "now": NOW_S, "not_before_s": 60, "lifetime_s": 600,
                "attributes": {"mail": "alice@example.test", "groups": ["admins", "dev\"ops"]}}),
        );
    }
}

/// An RST for the SAML token type, SOAP 1.2.
fn saml_rst() -> rst::Rst {
    let body = format!(
        r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Header/><e:Body>
        <t:RequestSecurityToken xmlns:t="http://docs.oasis-open.org/ws-sx/ws-trust/200512">
        <t:RequestType>http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue</t:RequestType>
        <t:TokenType>{}</t:TokenType>
        <p:AppliesTo xmlns:p="http://www.w3.org/ns/ws-policy"><a:EndpointReference xmlns:a="http://www.w3.org/2005/08/addressing">
        <a:Address>{TOKEN_ENDPOINT}</a:Address></a:EndpointReference></p:AppliesTo>
        </t:RequestSecurityToken></e:Body></e:Envelope>"#,
        TokenType::Saml2Bearer.uri()
    );
    rst::parse(body.as_bytes()).unwrap()
}

/// A minted assertion: the assertion alone and inside an RSTR envelope.
fn minted(sts: &Sts) -> (String, String) {
    let p = principal(sts);
    let id = new_id(&mut rand_core::OsRng);
    let st = statement(sts, &p, &id);
    let signer = sts.saml.as_ref().unwrap();
    let a = saml::mint(
        &signer.key,
        &st,
        &signer.name_id_format,
        signer.certificate.as_deref(),
    )
    .unwrap();
    let envelope = answer(
        &saml_rst(),
        Issued::Saml(a.element.clone()),
        st.times.issued,
        st.times.expires,
    )
    .unwrap();
    (a.xml, envelope)
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oauth-filter-sts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `xmlsec1 --verify` of `doc` with the key given by `key_args`.
fn xmlsec_verify(doc: &Path, key_args: &[&str]) -> (bool, String) {
    let out = Command::new("xmlsec1")
        .arg("--verify")
        .args(key_args)
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ])
        .arg(doc)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn saml_checks(sts: &Sts, cert: bool) {
    let ks = keys();
    let (assertion, envelope) = minted(sts);
    let tag = if cert { "cert" } else { "keyvalue" };
    let a_path = temp_file(&format!("assertion-{tag}.xml"), &assertion);
    let e_path = temp_file(&format!("rstr-{tag}.xml"), &envelope);
    let key_path = if cert {
        temp_file("cert.pem", ks["rsa"]["certificate_pem"].as_str().unwrap())
    } else {
        temp_file("pub.pem", ks["rsa"]["public_pem"].as_str().unwrap())
    };
    let key_flag = if cert {
        "--pubkey-cert-pem"
    } else {
        "--pubkey-pem"
    };
    let key_args = [key_flag, key_path.to_str().unwrap()];
    // The assertion alone and inside the SOAP envelope: exclusive c14n
    // makes the enclosing namespaces irrelevant.
    for doc in [&a_path, &e_path] {
        let (ok, out) = xmlsec_verify(doc, &key_args);
        assert!(ok, "xmlsec1 refused {}: {out}", doc.display());
    }
    // A changed subject breaks the digest.
    let tampered = temp_file(
        &format!("tampered-{tag}.xml"),
        &assertion.replace("alice &amp; &lt;bob&gt;", "mallory"),
    );
    assert!(!xmlsec_verify(&tampered, &key_args).0);

    // signxml, on the envelope, and the content.
    let t = sts.window.at(UnixMillis(NOW_S * 1000));
    run_script(
        "verify_saml.py",
        &json!({"xml": envelope,
            "certificate_pem": if cert { ks["rsa"]["certificate_pem"].clone() } else { Value::Null },
            "public_pem": ks["rsa"]["public_pem"],
            "issuer": "https://gw.test/sts", "subject": "alice & <bob>",
            "audience": TOKEN_ENDPOINT, "recipient": TOKEN_ENDPOINT,
            "now": t.issued.rfc3339(), "not_before": t.not_before.rfc3339(),
            "expires": t.expires.rfc3339(),
            "attributes": {"mail": ["alice@example.test"], "groups": ["admins", "dev\"ops"]}}),
    );

    // The SAML 2.0 assertion schema (with XML Signature), offline.
    let xsd = dir().join("xsd");
    let out = Command::new("xmllint")
        .env("XML_CATALOG_FILES", xsd.join("catalog.xml"))
        .args(["--nonet", "--noout", "--schema"])
        .arg(xsd.join("saml-schema-assertion-2.0.xsd"))
        .arg(&a_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn saml2_bearer_assertions_verify_with_xmlsec1_signxml_and_the_schema() {
    if !have(Command::new("xmlsec1").arg("--version"), "xmlsec1")
        || !have(Command::new("xmllint").arg("--version"), "xmllint")
        || !have(
            python().args(["-c", "import signxml, lxml"]),
            "python with signxml and lxml",
        )
    {
        return;
    }
    let ks = keys();
    let with_cert = config(json!({"saml": {"certificate": ks["rsa"]["certificate_pem"]}}));
    saml_checks(&with_cert, true);
    saml_checks(&config(json!({})), false);
}

#[test]
fn saml_grant_value_is_base64url_of_the_assertion() {
    use base64::Engine;
    let sts = config(json!({}));
    let p = principal(&sts);
    let st = statement(&sts, &p, "0123");
    let signer = sts.saml.as_ref().unwrap();
    let a = saml::mint(&signer.key, &st, &signer.name_id_format, None).unwrap();
    let v = a.grant_value();
    assert!(!v.contains(['+', '/', '=']));
    let xml = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(v)
        .unwrap();
    assert_eq!(xml, a.xml.as_bytes());
    assert!(a.xml.starts_with(
        "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_0123\""
    ));
}
