#!/usr/bin/env python3
"""Generate key store vectors for oauth-filter (core/jose/keystore, JWK x5c).

Keys and self-signed X.509 certificates come from `cryptography`, public
JWKs from `jwcrypto` (x5c / x5t#S256 added by hand: standard base64 DER and
base64url SHA-256), and one JWS per key is signed by `pyjwt` over a fixed
payload.

    pip install pyjwt cryptography jwcrypto
    python3 filter/tests/vectors/make_keystore_vectors.py \
        > filter/tests/vectors/keystore_vectors.json

Output: one JSON document with, per key (RSA-2048, P-256, P-384, Ed25519):
the PEM SubjectPublicKeyInfo, the PEM and DER (standard base64) self-signed
certificate, a JWK with x5c and x5t#S256, a JWK with only kty + x5c, the JWS
algorithm and a JWS signed with the private key. Plus: a PEM bundle of
everything (with text between the blocks), a JWK set with x5c, refused forms
(x5c not matching n/e, wrong x5t#S256, RSA-1024 certificate and key, private
key block, x5c in base64url) and an expired certificate (accepted: validity
is not checked). Keys are fresh on every run; the committed JSON is one run.
"""

import base64
import datetime
import hashlib
import json
import sys

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from jwcrypto import jwk

PAYLOAD = {"iss": "https://keystore.vectors.test", "sub": "alice", "aud": "api://vectors"}
NOT_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64std(data: bytes) -> str:
    return base64.b64encode(data).decode()


def self_signed(key, name: str, not_after=NOT_AFTER) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, algorithm)
    )


def spki_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def cert_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def public_jwk(key) -> dict:
    return json.loads(jwk.JWK.from_pyca(key.public_key()).export_public())


def with_x5c(d: dict, certs: list) -> dict:
    d = dict(d)
    ders = [cert_der(c) for c in certs]
    d["x5c"] = [b64std(der) for der in ders]
    d["x5t#S256"] = b64url(hashlib.sha256(ders[0]).digest())
    return d


KEYS = [
    ("rsa2048", rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256", "Rsa"),
    ("p256", ec.generate_private_key(ec.SECP256R1()), "ES256", "P256"),
    ("p384", ec.generate_private_key(ec.SECP384R1()), "ES384", "P384"),
    ("ed25519", ed25519.Ed25519PrivateKey.generate(), "EdDSA", "Ed25519"),
]

entries = []
certs = {}
for name, key, alg, kind in KEYS:
    cert = self_signed(key, f"{name}.keystore.vectors.test")
    certs[name] = cert
    full = with_x5c(public_jwk(key), [cert])
    full["kid"] = name
    full["use"] = "sig"
    only = {"kty": full["kty"], "kid": name + "-x5c-only", "x5c": full["x5c"]}
    token = pyjwt.encode(PAYLOAD, key, algorithm=alg, headers={"kid": name})
    # Cross-check: pyjwt verifies its own token with the certificate's key.
    pyjwt.decode(token, cert.public_key(), algorithms=[alg], audience=PAYLOAD["aud"])
    entries.append(
        {
            "name": name,
            "kind": kind,
            "alg": alg,
            "spki_pem": spki_pem(key),
            "cert_pem": cert_pem(cert),
            "cert_der_b64": b64std(cert_der(cert)),
            "jwk": full,
            "jwk_x5c_only": only,
            "jws": token,
        }
    )

# A bundle: every public key and certificate, with text around the blocks
# as OpenSSL and CA bundles have.
bundle_parts = []
for e in entries:
    bundle_parts.append(f"# {e['name']} public key\n{e['spki_pem']}")
    bundle_parts.append(f"subject=CN = {e['name']}.keystore.vectors.test\n{e['cert_pem']}")
bundle = "\n".join(bundle_parts)

# The P-256 JWK with a second certificate in its chain (only the first counts).
chained = with_x5c(entries[1]["jwk"], [certs["p256"], certs["rsa2048"]])
chained["kid"] = "p256-chain"
jwks_x5c = {"keys": [e["jwk"] for e in entries] + [e["jwk_x5c_only"] for e in entries] + [chained]}

# Refusals.
other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
mismatch = with_x5c(public_jwk(other_rsa), [certs["rsa2048"]])  # n/e of another key
mismatch["kid"] = "mismatch"
ec_mismatch = with_x5c(entries[1]["jwk"], [certs["p384"]])  # P-256 x/y, P-384 cert
ec_mismatch["kid"] = "ec-mismatch"
bad_thumb = dict(entries[0]["jwk"])
bad_thumb["x5t#S256"] = b64url(hashlib.sha256(b"not the certificate").digest())
bad_thumb["kid"] = "bad-thumbprint"
url_x5c = dict(entries[0]["jwk"])
url_x5c["x5c"] = [b64url(cert_der(certs["rsa2048"]))]
url_x5c["kid"] = "base64url-x5c"
kty_mismatch = {"kty": "EC", "kid": "kty-mismatch", "x5c": entries[0]["jwk"]["x5c"]}

rsa1024 = rsa.generate_private_key(public_exponent=65537, key_size=1024)
cert1024 = self_signed(rsa1024, "rsa1024.keystore.vectors.test")
jwk1024 = with_x5c(public_jwk(rsa1024), [cert1024])
jwk1024["kid"] = "rsa1024"

expired_key = ec.generate_private_key(ec.SECP256R1())
expired = self_signed(
    expired_key,
    "expired.keystore.vectors.test",
    not_after=datetime.datetime(2025, 1, 2, tzinfo=datetime.timezone.utc),
)
expired_token = pyjwt.encode(PAYLOAD, expired_key, algorithm="ES256")

private_pem = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    .decode()
)

doc = {
    "payload": PAYLOAD,
    "keys": entries,
    "bundle_pem": bundle,
    "jwks_x5c": jwks_x5c,
    "refused_jwks": {
        "x5c_mismatch_rsa": mismatch,
        "x5c_mismatch_ec": ec_mismatch,
        "bad_x5t_s256": bad_thumb,
        "x5c_base64url": url_x5c,
        "x5c_kty_mismatch": kty_mismatch,
        "rsa1024": jwk1024,
    },
    "rsa1024": {
        "spki_pem": spki_pem(rsa1024),
        "cert_pem": cert_pem(cert1024),
        "cert_der_b64": b64std(cert_der(cert1024)),
    },
    "private_key_pem": private_pem,
    "expired": {"cert_pem": cert_pem(expired), "jws": expired_token, "alg": "ES256"},
}
json.dump(doc, sys.stdout, indent=1)
sys.stdout.write("\n")
