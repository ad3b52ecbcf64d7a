#!/usr/bin/env python3
"""Keys of the STS tests (filter/tests/sts.rs), made with `cryptography`
and jwcrypto: an RSA 2048 key (private JWK, public PEM, a self-signed
certificate) and a P-256 key. Run once; the output is committed:

    python3 make_keys.py > keys.json
"""
import datetime
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwcrypto import jwk


def pair(key, kid):
    k = jwk.JWK.from_pyca(key)
    private = json.loads(k.export_private())
    public = json.loads(k.export_public())
    private["kid"] = public["kid"] = kid
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return {"private": private, "public": public, "public_pem": pem}


rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sts.test")])
now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(rsa_key.public_key())
    .serial_number(1)
    .not_valid_before(now)
    .not_valid_after(now + datetime.timedelta(days=3650))
    .sign(rsa_key, hashes.SHA256())
)
out = {
    "rsa": pair(rsa_key, "sts-rsa"),
    "p256": pair(ec.generate_private_key(ec.SECP256R1()), "sts-p256"),
}
out["rsa"]["certificate_pem"] = cert.public_bytes(serialization.Encoding.PEM).decode()
print(json.dumps(out, indent=1))
