//! Mint ES256 access tokens for demos and end-to-end tests (native only;
//! nothing of this is in the wasm module).
//!
//! ```text
//! mint keygen [--kid K]
//!     prints {"private_jwk": {...}, "jwks": {"keys": [...]}}
//! mint sign --key FILE --iss ISS --aud AUD [--sub S] [--scope "a b"]
//!           [--ttl SECONDS] [--kid K] [--typ at+jwt] [--claim name=json]...
//!     prints the compact JWS; FILE holds the private JWK (or keygen's output)
//! ```

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use rand_core::{OsRng, RngCore};
use serde_json::{json, Map, Value};

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

fn keygen(kid: &str) -> Value {
    let sk = p256::SecretKey::random(&mut OsRng);
    let pk = sk.public_key();
    let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&pk, false);
    let (Some(x), Some(y)) = (point.x(), point.y()) else {
        unreachable!("an uncompressed point has coordinates")
    };
    let public = json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
        "x": b64(x), "y": b64(y)});
    let mut private = public.clone();
    private["d"] = json!(b64(&sk.to_bytes()));
    json!({"private_jwk": private, "jwks": {"keys": [public]}})
}

fn sign(args: &[String]) -> Result<String, String> {
    let mut key_file = None;
    let mut claims = Map::new();
    let mut ttl: u64 = 3600;
    let mut kid = None;
    let mut typ = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--key" => key_file = Some(val()?),
            "--iss" => drop(claims.insert("iss".into(), json!(val()?))),
            "--aud" => drop(claims.insert("aud".into(), json!(val()?))),
            "--sub" => drop(claims.insert("sub".into(), json!(val()?))),
            "--scope" => drop(claims.insert("scope".into(), json!(val()?))),
            "--ttl" => ttl = val()?.parse().map_err(|_| "--ttl: not a number")?,
            "--kid" => kid = Some(val()?),
            "--typ" => typ = Some(val()?),
            "--claim" => {
                let v = val()?;
                let (k, j) = v.split_once('=').ok_or("--claim name=json")?;
                let j = serde_json::from_str(j).unwrap_or_else(|_| json!(j));
                claims.insert(k.to_owned(), j);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let file = key_file.ok_or("--key FILE is required")?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{file}: {e}"))?;
    let mut jwk: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))?;
    if let Some(p) = jwk.get("private_jwk") {
        jwk = p.clone();
    }
    let d = jwk["d"].as_str().ok_or("key has no d (private part)")?;
    let d = URL_SAFE_NO_PAD
        .decode(d)
        .map_err(|_| "d is not base64url")?;
    let sk = SigningKey::from_slice(&d).map_err(|_| "d is not a P-256 scalar")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "clock before 1970")?
        .as_secs();
    claims.entry("iat").or_insert(json!(now));
    claims.entry("exp").or_insert(json!(now + ttl));
    let mut jti = [0u8; 12];
    OsRng.fill_bytes(&mut jti);
    claims.entry("jti").or_insert(json!(b64(&jti)));
    let mut header = json!({"alg": "ES256"});
    if let Some(k) = kid.or_else(|| jwk["kid"].as_str().map(str::to_owned)) {
        header["kid"] = json!(k);
    }
    if let Some(t) = typ {
        header["typ"] = json!(t);
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(Value::Object(claims).to_string().as_bytes())
    );
    let sig: Signature = sk.sign(input.as_bytes());
    Ok(format!("{input}.{}", b64(&sig.to_bytes())))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.first().map(String::as_str) {
        Some("keygen") => {
            let kid = match args.get(1).map(String::as_str) {
                Some("--kid") => args.get(2).cloned().unwrap_or_else(|| "demo".into()),
                _ => "demo".into(),
            };
            Ok(serde_json::to_string_pretty(&keygen(&kid)).unwrap_or_default())
        }
        Some("sign") => sign(&args[1..]),
        _ => Err(
            "usage: mint keygen [--kid K] | mint sign --key FILE --iss ISS --aud AUD [...]".into(),
        ),
    };
    match out {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mint: {e}");
            ExitCode::FAILURE
        }
    }
}
