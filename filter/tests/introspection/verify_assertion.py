#!/usr/bin/env python3
"""Verify client assertions (RFC 7523) made by the filter, with two
independent libraries: pyjwt and jwcrypto.

stdin: {"assertion": "...", "public": JWK, "alg": "ES256", "client_id": "...",
        "aud": "...", "now": seconds}
Exit status 0 and "ok" when both accept it and every claim is as required.
"""
import json
import sys

import jwt
from jwcrypto import jwk, jws

req = json.load(sys.stdin)
token = req["assertion"]
key = jwk.JWK(**req["public"])

# pyjwt: signature, alg, aud, exp/iat against the given time.
pub_pem = key.export_to_pem()
claims = jwt.decode(
    token,
    pub_pem,
    algorithms=[req["alg"]],
    audience=req["aud"],
    # Times are checked below against the test's virtual clock.
    options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"], "verify_exp": False, "verify_iat": False, "verify_nbf": False},
)
header = jwt.get_unverified_header(token)
assert header["alg"] == req["alg"], header
assert header.get("kid") == req["public"].get("kid"), header
assert claims["iss"] == req["client_id"], claims
assert claims["sub"] == req["client_id"], claims
assert claims["iat"] <= req["now"] < claims["exp"], claims
assert claims["exp"] - claims["iat"] <= 300, claims
assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16, claims

# jwcrypto: signature again, independently.
s = jws.JWS()
s.deserialize(token)
s.verify(key, alg=req["alg"])
assert json.loads(s.payload) == claims

print("ok")
