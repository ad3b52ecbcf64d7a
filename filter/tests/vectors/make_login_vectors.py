#!/usr/bin/env python3
"""Generate OpenID Connect ID-token vectors for oauth-filter's login checks
(OIDC Core §3.1.3.7) with independent libraries: valid tokens signed by
`jwcrypto` (RS256, ES256, PS256) and `pyjwt` (RS256), `at_hash` computed with
hashlib, and one bad token per check.

    pip install pyjwt cryptography jwcrypto
    python3 filter/tests/vectors/make_login_vectors.py \
        > filter/tests/vectors/login_vectors.json

Output: the public JWK set, the registration the cases assume (issuer,
client id), a fixed clock `now_ms`, and the cases, each with the nonce and
access token it is checked against and the expected outcome (`ok` or the
filter's reason string). Keys are generated fresh on every run; the
committed JSON is one such run.
"""

import base64
import hashlib
import json
import sys

import jwt as pyjwt
from jwcrypto import jwk, jwt as jwc_jwt

NOW = 1_800_000_000
ISS = "https://as.vectors.test"
CLIENT = "web-client"
AT = "access-token-1"
NONCE = "nonce-1"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def at_hash(token, hash_name="sha256"):
    d = hashlib.new(hash_name, token.encode()).digest()
    return b64(d[: len(d) // 2])


rsa = jwk.JWK.generate(kty="RSA", size=2048, kid="rsa-1")
ec = jwk.JWK.generate(kty="EC", crv="P-256", kid="ec-1")
other = jwk.JWK.generate(kty="RSA", size=2048, kid="rsa-other")


def claims(**over):
    c = {
        "iss": ISS,
        "sub": "alice",
        "aud": CLIENT,
        "iat": NOW - 10,
        "exp": NOW + 300,
        "nonce": NONCE,
        "at_hash": at_hash(AT),
    }
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def jwc(key, alg, c):
    t = jwc_jwt.JWT(header={"alg": alg, "kid": key.key_id}, claims=c)
    t.make_signed_token(key)
    return t.serialize()


def pyj(key, c):
    pem = key.export_to_pem(private_key=True, password=None)
    return pyjwt.encode(c, pem, algorithm="RS256", headers={"kid": key.key_id})


def tampered(token):
    h, p, s = token.split(".")
    sig = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    sig[0] ^= 1
    return f"{h}.{p}.{b64(bytes(sig))}"


cases = [
    ("rs256_jwcrypto", jwc(rsa, "RS256", claims()), "ok"),
    ("rs256_pyjwt", pyj(rsa, claims()), "ok"),
    ("es256", jwc(ec, "ES256", claims()), "ok"),
    ("ps256", jwc(rsa, "PS256", claims()), "ok"),
    ("no_at_hash", jwc(rsa, "RS256", claims(at_hash=None)), "ok"),
    ("aud_array_with_azp", jwc(rsa, "RS256", claims(aud=[CLIENT, "api"], azp=CLIENT)), "ok"),
    ("wrong_nonce", jwc(rsa, "RS256", claims(nonce="nonce-2")), "id_token_nonce"),
    ("no_nonce", jwc(rsa, "RS256", claims(nonce=None)), "id_token_nonce"),
    ("wrong_aud", jwc(rsa, "RS256", claims(aud="another")), "id_token_audience"),
    ("aud_array_without_azp", jwc(rsa, "RS256", claims(aud=[CLIENT, "api"])), "id_token_audience"),
    ("foreign_azp", jwc(rsa, "RS256", claims(azp="another")), "id_token_audience"),
    ("wrong_iss", jwc(rsa, "RS256", claims(iss="https://evil.test")), "id_token_issuer"),
    ("expired", jwc(rsa, "RS256", claims(exp=NOW - 120)), "id_token_expired"),
    ("no_exp", jwc(rsa, "RS256", claims(exp=None)), "id_token_expired"),
    ("iat_in_the_future", jwc(rsa, "RS256", claims(iat=NOW + 600)), "id_token_iat"),
    ("wrong_at_hash", jwc(rsa, "RS256", claims(at_hash=at_hash("another-token"))), "id_token_at_hash"),
    ("no_sub", jwc(rsa, "RS256", claims(sub=None)), "id_token_sub"),
    ("bad_signature", tampered(jwc(rsa, "RS256", claims())), "id_token_signature"),
    ("unknown_key", jwc(other, "RS256", claims()), "id_token_no_key"),
    ("hs256", pyjwt.encode(claims(), "s" * 32, algorithm="HS256"), "id_token_alg"),
]

out = {
    "generator": "make_login_vectors.py (jwcrypto, pyjwt, hashlib)",
    "now_ms": NOW * 1000,
    "issuer": ISS,
    "client_id": CLIENT,
    "nonce": NONCE,
    "access_token": AT,
    "jwks": {"keys": [json.loads(rsa.export_public()), json.loads(ec.export_public())]},
    "cases": [{"name": n, "token": t, "expect": e} for n, t, e in cases],
}
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
