#!/usr/bin/env python3
"""Generate sender-constraint test vectors (RFC 9449 DPoP, RFC 7638 JWK
thumbprints, RFC 8705 certificate-bound tokens) for oauth-filter with
independent libraries.

Valid DPoP proofs are signed by `jwcrypto` (ES256, ES384, EdDSA) and `pyjwt`
(RS256, PS256); deliberately bad proofs are assembled by hand and signed with
`cryptography` primitives. Every expected thumbprint is jwcrypto's
`JWK.thumbprint()`; every certificate digest is `cryptography`'s
`Certificate.fingerprint(SHA256)` (cross-checked with hashlib over the DER).

    pip install pyjwt cryptography jwcrypto
    python3 filter/tests/vectors/make_binding_vectors.py \
        > filter/tests/vectors/binding_vectors.json

Output: one JSON document with a fixed virtual clock `now_ms`, the DPoP
policy the cases assume, and three lists of cases (`dpop`, `thumbprints`,
`mtls`), each with its expected outcome (the filter's stable reason strings).
Keys and the certificate are generated fresh on every run; the committed
JSON is one such run.
"""

import base64
import datetime
import hashlib
import hmac
import json
import sys
import urllib.parse

import jwt as pyjwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from jwcrypto import jwk
from jwcrypto import jwt as jwc_jwt

NOW = 1_800_000_000  # seconds
PAST_MS = 60_000
FUTURE_MS = 10_000
URI = "https://api.vectors.test/resource/items"
METHOD = "GET"
TOKEN = "vectors-access-token.eyJzdWIiOiJhbGljZSJ9.c2ln"
NONCE = "server-nonce-1"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jdump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def ath(token: str) -> str:
    return b64(hashlib.sha256(token.encode("ascii")).digest())


# ---- keys -------------------------------------------------------------------
PYCA = {
    "ES256": ec.generate_private_key(ec.SECP256R1()),
    "ES384": ec.generate_private_key(ec.SECP384R1()),
    "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    "EdDSA": ed25519.Ed25519PrivateKey.generate(),
}
PYCA["PS256"] = PYCA["RS256"]
OTHER_EC = ec.generate_private_key(ec.SECP256R1())
SMALL_RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)

JWK = {alg: jwk.JWK.from_pyca(k) for alg, k in PYCA.items()}


def public(key: jwk.JWK) -> dict:
    return json.loads(key.export(private_key=False))


def jkt(key: jwk.JWK) -> str:
    return key.thumbprint()  # SHA-256, base64url (RFC 7638)


def claims(**over):
    c = {
        "jti": "jti-" + hashlib.sha256(repr(sorted(over.items())).encode()).hexdigest()[:16],
        "htm": METHOD,
        "htu": URI,
        "iat": NOW,
        "ath": ath(TOKEN),
    }
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def header(alg: str, key_jwk=None, **over):
    h = {"typ": "dpop+jwt", "alg": alg, "jwk": key_jwk if key_jwk is not None else public(JWK[alg])}
    for k, v in over.items():
        if v is None:
            h.pop(k, None)
        else:
            h[k] = v
    return h


def jwcrypto_sign(alg: str, payload: dict) -> str:
    t = jwc_jwt.JWT(header=header(alg), claims=payload)
    t.make_signed_token(JWK[alg])
    return t.serialize()


def pyjwt_sign(alg: str, payload: dict) -> str:
    h = header(alg)
    del h["alg"]
    key = PYCA[alg].private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pyjwt.encode(payload, key, algorithm=alg, headers=h)


def sign_valid(alg: str, payload: dict) -> str:
    if alg in ("RS256", "PS256"):
        return pyjwt_sign(alg, payload)
    return jwcrypto_sign(alg, payload)


def raw_sign(alg: str, key, signing_input: bytes) -> bytes:
    h = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
    if alg.startswith("RS"):
        return key.sign(signing_input, padding.PKCS1v15(), h[alg[2:]])
    if alg.startswith("PS"):
        hh = h[alg[2:]]
        return key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hh), salt_length=hh.digest_size), hh)
    if alg.startswith("ES"):
        size = {"256": 32, "384": 48, "512": 66}[alg[2:]]
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(h[alg[2:]])))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return key.sign(signing_input)
    if alg.startswith("HS"):
        return hmac.new(key, signing_input, getattr(hashlib, "sha" + alg[2:])).digest()
    if alg == "none":
        return b""
    raise ValueError(alg)


def assemble(h: dict, payload: dict, alg: str, key) -> str:
    si = (b64(jdump(h)) + "." + b64(jdump(payload))).encode()
    return si.decode() + "." + b64(raw_sign(alg, key, si))


def verifies_with_pyjwt(token: str, alg: str) -> bool:
    """Independent check that a valid proof really verifies with its jwk."""
    h = pyjwt.get_unverified_header(token)
    key = pyjwt.PyJWK(h["jwk"], algorithm=alg)
    try:
        pyjwt.decode(token, key.key, algorithms=[alg], options={"verify_aud": False, "verify_iat": False})
        return True
    except pyjwt.PyJWTError:
        return False


# ---- DPoP cases -------------------------------------------------------------
dpop = []


def case(name, proofs, expect, method=METHOD, uri=URI, token=TOKEN, nonces=(), cnf_jkt=None):
    dpop.append({
        "name": name,
        "proofs": proofs,
        "method": method,
        "uri": uri,
        "access_token": token,
        "nonces": list(nonces),
        "cnf_jkt": cnf_jkt,
        "expect": expect,
    })


def ok(alg: str, payload: dict):
    return {"ok": True, "jkt": jkt(JWK[alg]), "jti": payload["jti"], "iat_ms": int(payload["iat"] * 1000)}


def bad(reason: str, error: str = "invalid_dpop_proof"):
    return {"ok": False, "reason": reason, "error": error}


for alg in ["ES256", "ES384", "RS256", "PS256", "EdDSA"]:
    p = claims(jti=f"valid-{alg}")
    t = sign_valid(alg, p)
    assert verifies_with_pyjwt(t, alg), alg
    case(f"valid {alg}", [t], ok(alg, p), cnf_jkt=jkt(JWK[alg]))

p = claims(jti="no-token", ath=None)
case("valid without access token (no ath)", [jwcrypto_sign("ES256", p)], ok("ES256", p), token=None)
p = claims(jti="query-case", htu="HTTPS://API.Vectors.TEST:443/resource/items?x=1#frag")
case("htu normalized: case, default port, query, fragment", [jwcrypto_sign("ES256", p)], ok("ES256", p),
     uri="https://api.vectors.test/resource/items?page=2")
p = claims(jti="dot-segments", htu="https://api.vectors.test/resource/./x/../items")
case("htu normalized: dot segments", [jwcrypto_sign("EdDSA", p)], ok("EdDSA", p))
p = claims(jti="edge-past", iat=NOW - PAST_MS // 1000)
case("iat at the past edge", [jwcrypto_sign("ES256", p)], ok("ES256", p))
p = claims(jti="edge-future", iat=NOW + FUTURE_MS // 1000)
case("iat at the future edge", [jwcrypto_sign("ES256", p)], ok("ES256", p))
p = claims(jti="with-nonce", nonce=NONCE)
case("valid with server nonce", [jwcrypto_sign("ES256", p)], ok("ES256", p), nonces=["older-nonce", NONCE])
p = claims(jti="cnf-other")
case("valid proof, token bound to another key", [jwcrypto_sign("ES256", p)], ok("ES256", p),
     cnf_jkt=jkt(jwk.JWK.from_pyca(OTHER_EC)))

case("wrong htm", [jwcrypto_sign("ES256", claims(htm="POST"))], bad("htm_mismatch"))
case("htm is case-sensitive", [jwcrypto_sign("ES256", claims(htm="get"))], bad("htm_mismatch"))
case("wrong htu path", [jwcrypto_sign("ES256", claims(htu="https://api.vectors.test/resource/other"))],
     bad("htu_mismatch"))
case("wrong htu host", [jwcrypto_sign("ES256", claims(htu="https://evil.test/resource/items"))],
     bad("htu_mismatch"))
case("wrong htu scheme", [jwcrypto_sign("ES256", claims(htu="http://api.vectors.test/resource/items"))],
     bad("htu_mismatch"))
case("htu not a URI", [jwcrypto_sign("ES256", claims(htu="/resource/items"))], bad("bad_claim"))
case("wrong ath", [jwcrypto_sign("ES256", claims(ath=ath("another-token")))], bad("ath_mismatch"))
case("ath missing with a token", [jwcrypto_sign("ES256", claims(ath=None))], bad("missing_claim"))
case("stale iat", [jwcrypto_sign("ES256", claims(iat=NOW - PAST_MS // 1000 - 1))], bad("iat_too_old"))
case("future iat", [jwcrypto_sign("ES256", claims(iat=NOW + FUTURE_MS // 1000 + 1))], bad("iat_in_future"))
case("iat missing", [jwcrypto_sign("ES256", claims(iat=None))], bad("missing_claim"))
case("iat a string", [jwcrypto_sign("ES256", claims(iat=str(NOW)))], bad("bad_claim"))
case("jti missing", [jwcrypto_sign("ES256", claims(jti=None))], bad("missing_claim"))
case("jti too long", [jwcrypto_sign("ES256", claims(jti="j" * 257))], bad("bad_claim"))
case("nonce missing", [jwcrypto_sign("ES256", claims())], bad("use_dpop_nonce", "use_dpop_nonce"),
     nonces=[NONCE])
case("nonce wrong", [jwcrypto_sign("ES256", claims(nonce="stale"))], bad("use_dpop_nonce", "use_dpop_nonce"),
     nonces=[NONCE])

ec_key = PYCA["ES256"]
ec_pub = public(JWK["ES256"])
ec_priv = json.loads(JWK["ES256"].export(private_key=True))
assert "d" in ec_priv
case("private key in jwk header", [assemble(header("ES256", ec_priv), claims(), "ES256", ec_key)],
     bad("private_jwk"))
rsa_priv = json.loads(JWK["RS256"].export(private_key=True))
case("RSA private key in jwk header", [assemble(header("RS256", rsa_priv), claims(), "RS256", PYCA["RS256"])],
     bad("private_jwk"))
case("typ JWT", [assemble(header("ES256", typ="JWT"), claims(), "ES256", ec_key)], bad("wrong_typ"))
case("typ missing", [assemble(header("ES256", typ=None), claims(), "ES256", ec_key)], bad("wrong_typ"))
hs_secret = hashlib.sha256(b"dpop vectors hmac").digest()
case("alg HS256", [assemble(header("HS256", ec_pub), claims(), "HS256", hs_secret)], bad("alg_not_allowed"))
case("alg none", [assemble(header("none", ec_pub), claims(), "none", None)], bad("alg_none"))
case("alg ES512 unsupported", [assemble(header("ES512", ec_pub), claims(), "ES256", ec_key)],
     bad("unsupported_alg"))
case("alg PS384 not allowed", [assemble(header("PS384", public(JWK["RS256"])), claims(), "PS384", PYCA["RS256"])],
     bad("alg_not_allowed"))
case("jwk missing", [assemble(header("ES256", jwk=None), claims(), "ES256", ec_key)], bad("missing_jwk"))
case("jwk not an object", [assemble(header("ES256", jwk="key"), claims(), "ES256", ec_key)], bad("missing_jwk"))
case("signature by another key", [assemble(header("ES256", ec_pub), claims(), "ES256", OTHER_EC)],
     bad("bad_signature"))
case("jwk type does not fit alg", [assemble(header("ES256", public(JWK["RS256"])), claims(), "ES256", ec_key)],
     bad("alg_key_mismatch"))
small = public(jwk.JWK.from_pyca(SMALL_RSA))
case("RSA key below 2048 bits", [assemble(header("RS256", small), claims(), "RS256", SMALL_RSA)], bad("bad_jwk"))
case("crit header", [assemble(header("ES256", crit=["exp"], exp=1), claims(), "ES256", ec_key)],
     bad("unknown_crit"))
good = jwcrypto_sign("ES256", claims(jti="twice"))
case("two DPoP headers", [good, good], bad("dpop_multiple"))
case("two proofs joined by a comma", [good + "," + good], bad("dpop_multiple"))
case("no DPoP header", [], bad("dpop_missing"))
case("not a JWS", ["not-a-jws"], bad("malformed"))

# ---- thumbprints ------------------------------------------------------------
RFC7638 = {
    "kty": "RSA",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}
assert jwk.JWK(**RFC7638).thumbprint() == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
thumbprints = [{"name": "RFC 7638 section 3.1", "jwk": RFC7638, "thumbprint": jwk.JWK(**RFC7638).thumbprint()}]
for name, key in [
    ("RSA 2048", JWK["RS256"]),
    ("EC P-256", JWK["ES256"]),
    ("EC P-384", JWK["ES384"]),
    ("OKP Ed25519", JWK["EdDSA"]),
    ("RSA 3072", jwk.JWK.generate(kty="RSA", size=3072)),
    ("EC P-256 (second)", jwk.JWK.generate(kty="EC", crv="P-256")),
]:
    pub = public(key)
    pub["kid"] = "kid-" + name
    pub["use"] = "sig"
    thumbprints.append({"name": name, "jwk": pub, "thumbprint": key.thumbprint()})

# ---- certificates (RFC 8705) ------------------------------------------------
def self_signed(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Vectors, \"Test\"")])
    start = datetime.datetime.fromtimestamp(NOW - 86400, datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert


cert = self_signed("client.vectors.test")
other_cert = self_signed("other.vectors.test")
der = cert.public_bytes(serialization.Encoding.DER)
pem = cert.public_bytes(serialization.Encoding.PEM).decode()
fp = cert.fingerprint(hashes.SHA256())
assert fp == hashlib.sha256(der).digest()
other_fp = other_cert.fingerprint(hashes.SHA256())
other_pem = other_cert.public_bytes(serialization.Encoding.PEM).decode()

hex_digest = fp.hex()
x5t = b64(fp)
pem_url = urllib.parse.quote(pem, safe="")  # nginx $ssl_client_escaped_cert, Envoy
pem_url_plus = urllib.parse.quote_plus(pem)  # Java URLEncoder (space as '+')
assert "+" in pem_url_plus.split("%0A")[0]
other_pem_url = urllib.parse.quote(other_pem, safe="")
xfcc_hash = f"By=spiffe://gw.vectors.test;Hash={hex_digest};Subject=\"CN=client.vectors.test,O=Vectors\\, \\\"Test\\\"\";URI=spiffe://client"
xfcc_cert = f"By=spiffe://gw.vectors.test;Cert=\"{pem_url}\""
xfcc_both = f"By=spiffe://gw.vectors.test;Hash={hex_digest};Cert=\"{pem_url}\";DNS=client.vectors.test"
xfcc_two_hops_ours_last = f"By=spiffe://edge;Hash={other_fp.hex()},{xfcc_hash}"
xfcc_two_hops_ours_first = f"{xfcc_hash},By=spiffe://edge;Hash={other_fp.hex()}"

CNF = {"x5t#S256": x5t}
mtls = []


def m(name, source, values, expect, cnf=CNF):
    mtls.append({"name": name, "cnf": cnf, "source": source, "values": values, "expect": expect})


m("connection digest", "connection", [hex_digest], "bound")
m("connection digest of another certificate", "connection", [other_fp.hex()], "cert_mismatch")
m("no connection certificate", "connection", [], "no_client_cert")
m("connection digest truncated", "connection", [hex_digest[:-2]], "bad_connection_digest")
m("xfcc Hash", "xfcc", [xfcc_hash], "bound")
m("xfcc Cert", "xfcc", [xfcc_cert], "bound")
m("xfcc Hash and Cert", "xfcc", [xfcc_both], "bound")
m("xfcc two hops, ours last", "xfcc", [xfcc_two_hops_ours_last], "bound")
m("xfcc two hops, ours first", "xfcc", [xfcc_two_hops_ours_first], "cert_mismatch")
m("xfcc two header lines, ours last", "xfcc", [f"By=spiffe://edge;Hash={other_fp.hex()}", xfcc_hash], "bound")
m("xfcc Hash and Cert disagree", "xfcc", [f"Hash={other_fp.hex()};Cert=\"{pem_url}\""],
  "xfcc_hash_cert_mismatch")
m("xfcc without certificate", "xfcc", ["By=spiffe://gw.vectors.test"], "no_client_cert")
m("xfcc unbalanced quote", "xfcc", [f"By=\"spiffe://gw;Hash={hex_digest}"], "bad_xfcc")
m("pem header, percent-encoded", "pem_header", [pem_url], "bound")
m("pem header, form-encoded", "pem_header", [pem_url_plus], "bound")
m("pem header, another certificate", "pem_header", [other_pem_url], "cert_mismatch")
m("pem header twice", "pem_header", [pem_url, pem_url], "multiple_cert_headers")
m("pem header absent", "pem_header", [], "no_client_cert")
m("pem header truncated", "pem_header", [urllib.parse.quote(pem[:200], safe="")], "bad_pem")
m("token not certificate-bound", "connection", [hex_digest], "unbound", cnf={"jkt": "x"})
m("token bound to another certificate", "pem_header", [pem_url], "cert_mismatch", cnf={"x5t#S256": b64(other_fp)})
m("cnf x5t#S256 not base64url", "connection", [hex_digest], "bad_cnf_x5t", cnf={"x5t#S256": hex_digest})

out = {
    "generator": "filter/tests/vectors/make_binding_vectors.py",
    "now_ms": NOW * 1000,
    "policy": {
        "algs": ["ES256", "ES384", "RS256", "PS256", "EdDSA"],
        "iat_past_ms": PAST_MS,
        "iat_future_ms": FUTURE_MS,
    },
    "dpop": dpop,
    "thumbprints": thumbprints,
    "certificate": {
        "der_b64": base64.b64encode(der).decode(),
        "pem": pem,
        "sha256_hex": hex_digest,
        "x5t_s256": x5t,
        "pem_urlencoded": pem_url,
        "xfcc_hash": xfcc_hash,
        "xfcc_cert": xfcc_cert,
    },
    "mtls": mtls,
}
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
