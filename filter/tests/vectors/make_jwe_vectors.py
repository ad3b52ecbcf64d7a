#!/usr/bin/env python3
"""Generate JWE (RFC 7516) compact test vectors with jwcrypto, an
independent implementation, for filter/tests/jwe.rs.

Run with the peer venv (jwcrypto + cryptography):

    target/peers/pyjose/bin/python filter/tests/vectors/make_jwe_vectors.py

Keys are made fresh on every run (encryption is randomised anyway); the
output, jwe_vectors.json, is what the tests read. Every alg x enc
combination the filter supports gets a positive case (both curves for the
ECDH-ES family), alternately a nested signed JWT (cty JWT) and a plain JSON
payload; negative cases carry the expected JweError::reason().
"""

import base64
import json
import os
import sys
from importlib.metadata import version

from cryptography.hazmat.primitives.asymmetric import ec
from jwcrypto import jwe, jwk, jwt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jwe_vectors.json")

ALGS = [
    "RSA-OAEP",
    "RSA-OAEP-256",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A256KW",
    "A128KW",
    "A256KW",
    "dir",
]
ENCS = ["A128GCM", "A256GCM", "A128CBC-HS256", "A256CBC-HS512"]
ENC_KEY_LEN = {"A128GCM": 16, "A256GCM": 32, "A128CBC-HS256": 32, "A256CBC-HS512": 64}


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def oct_key(n, kid):
    return jwk.JWK(kty="oct", k=b64(os.urandom(n)), kid=kid)


def make_keys():
    keys = {
        "rsa1": jwk.JWK.generate(kty="RSA", size=2048, kid="rsa1"),
        # Second RSA key: tokens without kid must find it by trial.
        "rsa2": jwk.JWK.generate(kty="RSA", size=2048, kid="rsa2"),
        "ec256": jwk.JWK.generate(kty="EC", crv="P-256", kid="ec256"),
        "ec384": jwk.JWK.generate(kty="EC", crv="P-384", kid="ec384"),
        "oct16": oct_key(16, "oct16"),
        "oct32": oct_key(32, "oct32"),
        "oct64": oct_key(64, "oct64"),
    }
    # Not configured: for wrong-key cases.
    others = {
        "rsa1": jwk.JWK.generate(kty="RSA", size=2048, kid="rsa1"),
        "ec256": jwk.JWK.generate(kty="EC", crv="P-256", kid="ec256"),
        "oct16": oct_key(16, "oct16"),
        "oct32": oct_key(32, "oct32"),
    }
    sig = jwk.JWK.generate(kty="EC", crv="P-256", kid="sig1")
    return keys, others, sig


def encrypt(plaintext, header, key):
    e = jwe.JWE(plaintext=plaintext, protected=json.dumps(header, separators=(",", ":")))
    e.allowed_algs = ALGS + ENCS
    e.add_recipient(key)
    return e.serialize(compact=True)


def recipient_kid(alg, enc, curve):
    if alg.startswith("RSA"):
        return "rsa1"
    if alg.startswith("ECDH"):
        return "ec256" if curve == "P-256" else "ec384"
    if alg == "A128KW":
        return "oct16"
    if alg == "A256KW":
        return "oct32"
    return {16: "oct16", 32: "oct32", 64: "oct64"}[ENC_KEY_LEN[enc]]


def nested_jwt(sig, n):
    t = jwt.JWT(
        header={"alg": "ES256", "kid": "sig1", "typ": "at+jwt"},
        claims={"iss": "https://issuer.example", "sub": f"user{n}", "aud": "api", "exp": 4102444800},
    )
    t.make_signed_token(sig)
    return t.serialize()


def flip(token, part, byte=0):
    parts = token.split(".")
    raw = bytearray(unb64(parts[part]))
    raw[byte] ^= 0x01
    parts[part] = b64(bytes(raw))
    return ".".join(parts)


def with_header(token, header):
    parts = token.split(".")
    parts[0] = b64(json.dumps(header, separators=(",", ":")).encode())
    return ".".join(parts)


def header_of(token):
    return json.loads(unb64(token.split(".")[0]))


def on_curve(crv, x, y):
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[crv]
    try:
        ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        return True
    except ValueError:
        return False


def main():
    keys, others, sig = make_keys()
    cases = []
    n = 0
    for alg in ALGS:
        curves = ["P-256", "P-384"] if alg.startswith("ECDH") else [None]
        for curve in curves:
            for enc in ENCS:
                kid = recipient_kid(alg, enc, curve)
                header = {"alg": alg, "enc": enc}
                # Every third token has no kid: the filter tries each fitting key.
                if n % 3 != 2:
                    header["kid"] = kid
                if alg.startswith("ECDH") and n % 4 == 1:
                    header["apu"] = b64(b"Alice")
                    header["apv"] = b64(b"Bob")
                if n % 2 == 0:
                    plaintext = nested_jwt(sig, n)
                    header["cty"] = "JWT"
                else:
                    plaintext = json.dumps({"n": n, "alg": alg, "enc": enc, "text": "caf\u00e9"})
                name = f"{alg}/{enc}" + (f"/{curve}" if curve else "")
                cases.append({
                    "name": name,
                    "token": encrypt(plaintext.encode(), header, keys[kid]),
                    "plaintext": plaintext,
                    "nested": "cty" in header,
                })
                n += 1

    def ok(name):
        return next(c for c in cases if c["name"] == name)["token"]

    neg = []

    def bad(name, token, error, **extra):
        neg.append({"name": name, "token": token, "error": error, **extra})

    # Trial: no kid, the first RSA key is wrong, the second one right.
    trial_pt = json.dumps({"trial": True})
    cases.append({
        "name": "RSA-OAEP-256/A128GCM/no-kid/second-key",
        "token": encrypt(trial_pt.encode(), {"alg": "RSA-OAEP-256", "enc": "A128GCM"}, keys["rsa2"]),
        "plaintext": trial_pt,
        "nested": False,
    })

    # Tampering: every enc, tag and ciphertext; encrypted key for wrapping algs.
    for enc in ENCS:
        t = ok(f"A256KW/{enc}")
        bad(f"tampered tag {enc}", flip(t, 4), "decrypt_failed")
        bad(f"tampered ciphertext {enc}", flip(t, 3), "decrypt_failed")
        bad(f"tampered iv {enc}", flip(t, 2), "decrypt_failed")
    for name in ["RSA-OAEP/A128GCM", "RSA-OAEP-256/A256CBC-HS512", "A128KW/A128CBC-HS256",
                 "ECDH-ES+A128KW/A256GCM/P-256", "ECDH-ES+A256KW/A128GCM/P-384"]:
        bad(f"tampered encrypted key {name}", flip(ok(name), 1, 5), "decrypt_failed")
    # The protected header is the AAD: an added member breaks the tag.
    t = ok("dir/A128GCM")
    bad("header changed (AAD)", with_header(t, {**header_of(t), "x": 1}), "decrypt_failed")

    # Wrong key, with the kid of a configured key.
    plain = b'{"wrong":"key"}'
    bad("wrong key RSA-OAEP", encrypt(plain, {"alg": "RSA-OAEP", "enc": "A128GCM", "kid": "rsa1"}, others["rsa1"]), "decrypt_failed")
    bad("wrong key A128KW", encrypt(plain, {"alg": "A128KW", "enc": "A256GCM", "kid": "oct16"}, others["oct16"]), "decrypt_failed")
    bad("wrong key ECDH-ES", encrypt(plain, {"alg": "ECDH-ES", "enc": "A128CBC-HS256", "kid": "ec256"}, others["ec256"]), "decrypt_failed")
    bad("wrong key dir", encrypt(plain, {"alg": "dir", "enc": "A256GCM", "kid": "oct32"}, others["oct32"]), "decrypt_failed")
    bad("wrong key no kid", encrypt(plain, {"alg": "RSA-OAEP-256", "enc": "A256GCM"}, others["rsa1"]), "decrypt_failed")
    bad("unknown kid", encrypt(plain, {"alg": "A128KW", "enc": "A128GCM", "kid": "nope"}, keys["oct16"]), "no_key")

    # Allow-lists (the case narrows the allowed sets).
    bad("alg not allowed", ok("RSA-OAEP/A128GCM"), "alg_not_allowed", algs=["RSA-OAEP-256", "ECDH-ES"])
    bad("enc not allowed", ok("RSA-OAEP/A128CBC-HS256"), "enc_not_allowed", encs=["A128GCM", "A256GCM"])
    bad("unsupported alg A192KW", with_header(ok("A128KW/A128GCM"), {"alg": "A192KW", "enc": "A128GCM"}), "unsupported_alg")
    bad("unsupported alg PBES2", with_header(ok("A128KW/A128GCM"), {"alg": "PBES2-HS256+A128KW", "enc": "A128GCM", "p2s": "AAAAAAAAAAA", "p2c": 2000000000}), "unsupported_alg")
    bad("unsupported alg RSA1_5", with_header(ok("RSA-OAEP/A128GCM"), {"alg": "RSA1_5", "enc": "A128GCM"}), "unsupported_alg")
    bad("unsupported enc A192GCM", with_header(ok("A128KW/A128GCM"), {"alg": "A128KW", "enc": "A192GCM"}), "unsupported_enc")

    # zip (made by jwcrypto, valid otherwise).
    bad("zip DEF", encrypt(b'{"compressed":true}', {"alg": "A128KW", "enc": "A128GCM", "kid": "oct16", "zip": "DEF"}, keys["oct16"]), "zip_unsupported")
    bad("crit", with_header(ok("dir/A128GCM"), {**header_of(ok("dir/A128GCM")), "crit": ["exp"], "exp": 1}), "unknown_crit")
    bad("duplicate header member", ok("dir/A128GCM").replace(ok("dir/A128GCM").split(".")[0], b64(b'{"alg":"dir","alg":"dir","enc":"A128GCM"}')), "duplicate_member")

    # ECDH-ES epk not on the curve (one coordinate bumped until it is off).
    for curve in ["P-256", "P-384"]:
        t = ok(f"ECDH-ES/A128GCM/{curve}")
        h = header_of(t)
        y = bytearray(unb64(h["epk"]["y"]))
        while True:
            y[-1] = (y[-1] + 1) % 256
            if not on_curve(curve, int.from_bytes(unb64(h["epk"]["x"]), "big"), int.from_bytes(y, "big")):
                break
        h["epk"] = {**h["epk"], "y": b64(bytes(y))}
        bad(f"epk not on curve {curve}", with_header(t, h), "bad_epk")
    t = ok("ECDH-ES+A128KW/A128GCM/P-256")
    h = header_of(t)
    bad("epk missing", with_header(t, {k: v for k, v in h.items() if k != "epk"}), "bad_epk")
    # A P-384 epk for a P-256 key: no configured key fits.
    t = ok("ECDH-ES/A256GCM/P-384")
    bad("epk curve differs from kid's key", with_header(t, {**header_of(t), "kid": "ec256"}), "no_key")

    # Structure.
    t = ok("A128KW/A128CBC-HS256")
    bad("truncated token (tag cut short)", t[:-6], "malformed")
    bad("truncated token (last part gone)", t[: t.rindex(".")], "malformed")
    bad("4-part token", ".".join(t.split(".")[:4]), "malformed")
    bad("6-part token", t + ".AAAA", "malformed")
    bad("JWS (3 parts)", nested_jwt(sig, 0), "malformed")
    bad("padded base64url", t + "==", "malformed_base64url")
    parts = t.split(".")
    bad("iv wrong length", ".".join(parts[:2] + [b64(b"\0" * 12)] + parts[3:]), "malformed")
    bad("dir with an encrypted key", ".".join([ok("dir/A128GCM").split(".")[0], parts[1]] + ok("dir/A128GCM").split(".")[2:]), "malformed")
    bad("header not JSON", ".".join([b64(b"{not json")] + parts[1:]), "malformed_json")

    doc = {
        "generator": f"make_jwe_vectors.py, jwcrypto {version('jwcrypto')}, cryptography {version('cryptography')}",
        "python": sys.version.split()[0],
        "algs": ALGS,
        "encs": ENCS,
        "keys": [json.loads(k.export(private_key=True)) for k in keys.values()],
        "signing_key": json.loads(sig.export(private_key=False)),
        "cases": cases,
        "negative": neg,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(cases)} positive, {len(neg)} negative cases -> {OUT}")


if __name__ == "__main__":
    main()
