#!/usr/bin/env python3
"""Verify a JWT-bearer assertion (RFC 7523 §2.1) minted by the STS with two
independent libraries: pyjwt and jwcrypto.

stdin: {"token": "...", "public": JWK, "alg": "PS256", "iss": "...",
        "sub": "...", "aud": "...", "now": seconds,
        "not_before_s": 300, "lifetime_s": 1800, "attributes": {...}}
Exit status 0 and "ok" when both accept it and every claim is as required.
"""
import json
import sys

import jwt
from jwcrypto import jwk, jws

req = json.load(sys.stdin)
token = req["token"]
key = jwk.JWK(**req["public"])

claims = jwt.decode(
    token,
    key.export_to_pem(),
    algorithms=[req["alg"]],
    audience=req["aud"],
    issuer=req["iss"],
    options={
        "require": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"],
        # Times are checked below against the test's clock.
        "verify_exp": False,
        "verify_iat": False,
        "verify_nbf": False,
    },
)
header = jwt.get_unverified_header(token)
assert header["alg"] == req["alg"], header
assert header.get("typ") == "JWT", header
assert header.get("kid") == req["public"].get("kid"), header
assert claims["sub"] == req["sub"], claims
now = req["now"]
assert claims["iat"] == now, claims
assert claims["nbf"] == now - req["not_before_s"], claims
assert claims["exp"] == now + req["lifetime_s"], claims
assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 32, claims
for name, value in req["attributes"].items():
    assert claims[name] == value, (name, claims)

s = jws.JWS()
s.deserialize(token)
s.verify(key, alg=req["alg"])
assert json.loads(s.payload) == claims

print("ok")
