#!/usr/bin/env python3
"""Generate JWS test vectors for oauth-filter with independent libraries.

Keys come from `cryptography`; well-formed tokens are signed by `jwcrypto`
(and one per HMAC/RSA algorithm cross-checked with `pyjwt`); deliberately
malformed tokens are assembled by hand and signed with `cryptography`
primitives, then checked against jwcrypto where jwcrypto can parse them.

    pip install pyjwt cryptography jwcrypto
    python3 filter/tests/vectors/make_vectors.py > filter/tests/vectors/vectors.json

Output: one JSON document with a fixed virtual clock `now`, the filter
configuration (inline JWK sets, public parts only plus one HMAC secret) and
the cases, each with request headers, path, method and the expected outcome.
Keys are generated fresh on every run; the committed JSON is one such run.
"""

import base64
import hashlib
import hmac
import json
import sys

import jwt as pyjwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from jwcrypto import jwk, jws
from jwcrypto import jwt as jwc_jwt

NOW = 1_800_000_000
ISS = "https://issuer.vectors.test"
TYPED_ISS = "https://typed.vectors.test"
AUD = "api://vectors"
REALM = "vectors"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jdump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# ---- keys -------------------------------------------------------------------
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec256 = ec.generate_private_key(ec.SECP256R1())
ec384 = ec.generate_private_key(ec.SECP384R1())
ed = ed25519.Ed25519PrivateKey.generate()
hmac_secret = hashlib.sha512(b"oauth-filter vectors hmac secret").digest()  # 64 bytes

PRIV = {
    "rsa1": jwk.JWK.from_pyca(rsa_key),
    "ec256": jwk.JWK.from_pyca(ec256),
    "ec384": jwk.JWK.from_pyca(ec384),
    "ed1": jwk.JWK.from_pyca(ed),
    "hmac1": jwk.JWK(kty="oct", k=b64(hmac_secret)),
}


def public_jwk(kid: str) -> dict:
    k = PRIV[kid]
    d = json.loads(k.export(private_key=False)) if k.has_public else {}
    if kid == "hmac1":
        d = {"kty": "oct", "k": b64(hmac_secret)}
    d["kid"] = kid
    d["use"] = "sig"
    return d


JWKS = {"keys": [public_jwk(k) for k in ["rsa1", "ec256", "ec384", "ed1", "hmac1"]]}

KID_FOR = {
    "RS256": "rsa1", "RS384": "rsa1", "RS512": "rsa1",
    "PS256": "rsa1", "PS384": "rsa1", "PS512": "rsa1",
    "ES256": "ec256", "ES384": "ec384", "EdDSA": "ed1",
    "HS256": "hmac1", "HS384": "hmac1", "HS512": "hmac1",
}


def claims(**over):
    c = {
        "iss": ISS,
        "sub": "alice",
        "aud": AUD,
        "exp": NOW + 3600,
        "iat": NOW - 60,
        "jti": "jti-1",
        "client_id": "client-1",
        "tenant": "acme",
        "scope": "read write",
    }
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def jwcrypto_sign(alg: str, payload: dict, kid=None, extra_header=None) -> str:
    kid = kid or KID_FOR[alg]
    header = {"alg": alg, "kid": kid}
    header.update(extra_header or {})
    t = jwc_jwt.JWT(header=header, claims=payload)
    t.make_signed_token(PRIV[kid])
    return t.serialize()


def raw_sign(alg: str, key, signing_input: bytes) -> bytes:
    """Sign with cryptography primitives (for hand-assembled tokens)."""
    h = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}
    if alg.startswith("RS"):
        return key.sign(signing_input, padding.PKCS1v15(), h[alg[2:]])
    if alg.startswith("PS"):
        hh = h[alg[2:]]
        return key.sign(signing_input, padding.PSS(mgf=padding.MGF1(hh), salt_length=hh.digest_size), hh)
    if alg in ("ES256", "ES384"):
        size = 32 if alg == "ES256" else 48
        der = key.sign(signing_input, ec.ECDSA(h[alg[2:]]))
        r, s = decode_dss_signature(der)
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if alg == "EdDSA":
        return key.sign(signing_input)
    if alg.startswith("HS"):
        return hmac.new(key, signing_input, getattr(hashlib, "sha" + alg[2:])).digest()
    raise ValueError(alg)


def assemble(header_bytes: bytes, payload_bytes: bytes, alg: str, key) -> str:
    si = (b64(header_bytes) + "." + b64(payload_bytes)).encode()
    return si.decode() + "." + b64(raw_sign(alg, key, si))


def jwcrypto_verifies(token: str, kid: str) -> bool:
    try:
        s = jws.JWS()
        s.deserialize(token)
        s.verify(PRIV[kid])
        return True
    except Exception:
        return False


cases = []


def case(name, covers, expect, token=None, headers=None, path="/", method="GET"):
    if headers is None:
        headers = [["authorization", "Bearer " + token]] if token is not None else []
    cases.append({
        "name": name,
        "covers": covers,
        "method": method,
        "path": path,
        "headers": headers,
        "expect": expect,
    })


def ok(sub="alice"):
    return {"status": 200, "headers": {"x-sub": sub}}


def invalid(reason):
    return {"status": 401, "reason": reason,
            "www_authenticate_prefix": f'Bearer realm="{REALM}", error="invalid_token", error_description="'}


# ---- one accepted token per algorithm (jwcrypto-signed) ----------------------
for alg in KID_FOR:
    tok = jwcrypto_sign(alg, claims(sub="user-" + alg))
    assert jwcrypto_verifies(tok, KID_FOR[alg])
    case(f"alg_{alg}", f"algorithm {alg}", ok("user-" + alg), tok)

# pyjwt cross-check: an independent second signer for RS/PS/HS.
pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
for alg in ["RS256", "PS384", "HS512"]:
    key = hmac_secret if alg.startswith("HS") else pem
    tok = pyjwt.encode(claims(sub="pyjwt-" + alg), key, algorithm=alg, headers={"kid": KID_FOR[alg]})
    case(f"pyjwt_{alg}", f"algorithm {alg} (pyjwt signer)", ok("pyjwt-" + alg), tok)

# Raw-signed tokens must verify with jwcrypto too (checks raw_sign itself).
for alg in KID_FOR:
    hdr = jdump({"alg": alg, "kid": KID_FOR[alg]})
    key = {"rsa1": rsa_key, "ec256": ec256, "ec384": ec384, "ed1": ed, "hmac1": hmac_secret}[KID_FOR[alg]]
    tok = assemble(hdr, jdump(claims(sub="raw-" + alg)), alg, key)
    assert jwcrypto_verifies(tok, KID_FOR[alg]), alg
    case(f"raw_{alg}", f"algorithm {alg} (hand-assembled)", ok("raw-" + alg), tok)

# ---- accepted edge cases ----------------------------------------------------
case("exp_within_skew", "exp 30 s ago, skew 60 s", ok(),
     jwcrypto_sign("ES256", claims(exp=NOW - 30)))
case("typ_at_jwt", "RFC 9068 typ at+jwt on a provider requiring it",
     {"status": 200, "headers": {"x-sub": "typed"}},
     jwcrypto_sign("ES256", claims(iss=TYPED_ISS, sub="typed"), extra_header={"typ": "at+jwt"}))
case("typ_application_at_jwt", "RFC 9068 typ application/at+jwt",
     {"status": 200, "headers": {"x-sub": "typed"}},
     jwcrypto_sign("ES256", claims(iss=TYPED_ISS, sub="typed"), extra_header={"typ": "application/at+jwt"}))
case("aud_array", "aud as an array with one accepted member", ok(),
     jwcrypto_sign("ES256", claims(aud=["other", AUD])))
case("scope_via_scp", "scp array grants the route's scope", ok(),
     jwcrypto_sign("ES256", claims(scope=None, scp=["admin"])), path="/admin/users")
case("scope_present", "scope string grants the route's scope", ok(),
     jwcrypto_sign("ES256", claims(scope="read admin")), path="/admin")

# ---- one case per rejection reason -----------------------------------------
good_p = jdump(claims())
case("reject_alg_none", "alg none", invalid("alg_none"),
     b64(jdump({"alg": "none"})) + "." + b64(good_p) + ".")

rsa_pub_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
case("reject_hmac_with_rsa_key", "HS256 signed with the RSA public key as secret, kid of the RSA key",
     invalid("alg_key_mismatch"),
     assemble(jdump({"alg": "HS256", "kid": "rsa1"}), good_p, "HS256", rsa_pub_pem))

crit_hdr = jdump({"alg": "ES256", "kid": "ec256", "crit": ["urn:example:ext"], "urn:example:ext": True})
case("reject_unknown_crit", "unknown crit header", invalid("unknown_crit"),
     assemble(crit_hdr, good_p, "ES256", ec256))

case("reject_bad_signature", "RS256 signed by another key under kid rsa1", invalid("bad_signature"),
     assemble(jdump({"alg": "RS256", "kid": "rsa1"}), good_p, "RS256", rsa_other))

es = jwcrypto_sign("ES256", claims())
h, p, s = es.split(".")
# '+' is a b64token character but not base64url: it must fail decoding.
case("reject_malformed_base64url", "standard-base64 '+' inside the payload", invalid("malformed_base64url"),
     h + "." + p[:5] + "+" + p[6:] + "." + s)
case("reject_padded_base64url", "padding '=' on the signature", invalid("malformed_base64url"),
     es + "=")
case("reject_malformed_json", "payload is truncated JSON", invalid("malformed_json"),
     assemble(jdump({"alg": "ES256", "kid": "ec256"}), b'{"iss":"' + ISS.encode(), "ES256", ec256))

dup = good_p[:-1] + b',"sub":"mallory"}'
case("reject_duplicate_member", "payload names sub twice (validly signed)", invalid("duplicate_member"),
     assemble(jdump({"alg": "ES256", "kid": "ec256"}), dup, "ES256", ec256))
dup_h = b'{"alg":"ES256","kid":"ec256","kid":"rsa1"}'
case("reject_duplicate_header_member", "header names kid twice", invalid("duplicate_member"),
     assemble(dup_h, good_p, "ES256", ec256))

case("reject_expired", "exp one hour ago", invalid("expired"),
     jwcrypto_sign("ES256", claims(exp=NOW - 3600)))
case("reject_nbf_future", "nbf one hour ahead", invalid("not_yet_valid"),
     jwcrypto_sign("ES256", claims(nbf=NOW + 3600)))
case("reject_iat_future", "iat one hour ahead", invalid("issued_in_future"),
     jwcrypto_sign("ES256", claims(iat=NOW + 3600)))
case("reject_missing_exp", "no exp claim", invalid("missing_exp"),
     jwcrypto_sign("ES256", claims(exp=None)))
case("reject_wrong_iss", "iss of no configured provider", invalid("untrusted_issuer"),
     jwcrypto_sign("ES256", claims(iss="https://evil.test")))
case("reject_wrong_aud", "aud not accepted", invalid("wrong_audience"),
     jwcrypto_sign("ES256", claims(aud="api://other")))
case("reject_missing_required_claim", "required claim sub absent", invalid("missing_claim"),
     jwcrypto_sign("ES256", claims(sub=None)))
case("reject_claim_rule_mismatch", "tenant must equal acme", invalid("claim_mismatch"),
     jwcrypto_sign("ES256", claims(tenant="other")))
case("reject_wrong_typ", "provider requires at+jwt, token says JWT", invalid("wrong_typ"),
     jwcrypto_sign("ES256", claims(iss=TYPED_ISS), extra_header={"typ": "JWT"}))
case("reject_unknown_kid", "kid not in the (inline) key set", invalid("unknown_kid"),
     assemble(jdump({"alg": "ES256", "kid": "nope"}), good_p, "ES256", ec256))
case("reject_disallowed_alg", "provider allows ES256 only; token is RS256", invalid("disallowed_alg"),
     jwcrypto_sign("RS256", claims(iss=TYPED_ISS)))
big = jwcrypto_sign("ES256", claims(padding="x" * 9000))
assert len(big) > 8192
case("reject_token_too_large", "token over 8192 bytes", invalid("token_too_large"), big)
case("reject_two_authorization_headers", "two Authorization headers",
     {"status": 400, "reason": "multiple_authorization",
      "www_authenticate_prefix": f'Bearer realm="{REALM}", error="invalid_request"'},
     headers=[["authorization", "Bearer " + es], ["authorization", "Bearer " + es]])
case("reject_no_token", "no Authorization header",
     {"status": 401, "reason": "no_token", "www_authenticate": f'Bearer realm="{REALM}"'}, headers=[])
case("reject_basic_scheme", "Authorization with another scheme",
     {"status": 401, "reason": "no_token", "www_authenticate": f'Bearer realm="{REALM}"'},
     headers=[["authorization", "Basic YWxpY2U6cHc="]])
case("reject_insufficient_scope", "route /admin needs scope admin",
     {"status": 403, "reason": "insufficient_scope",
      "www_authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", scope="admin", '
                          'error_description="the token lacks a required scope"'},
     es, path="/admin/users")

config = {
    "realm": REALM,
    "require_https": False, "providers": [
        {
            "name": "vectors",
            "issuer": ISS,
            "audiences": [AUD],
            "algorithms": list(KID_FOR),
            "jwks": {"inline": JWKS},
            "required_claims": ["sub"],
            "claim_rules": [{"claim": "tenant", "equals": "acme"}],
        },
        {
            "name": "typed",
            "issuer": TYPED_ISS,
            "audiences": [AUD],
            "algorithms": ["ES256"],
            "require_at_jwt_typ": True,
            "jwks": {"inline": JWKS},
        },
    ],
    "scopes": {"rules": [{"path_prefix": "/admin", "required": ["admin"]}]},
    "upstream": {"claim_headers": [{"claim": "sub", "header": "x-sub"}],
                 "payload_header": "x-payload"},
}

json.dump({
    "generator": "filter/tests/vectors/make_vectors.py (cryptography, jwcrypto, pyjwt)",
    "now": NOW,
    "config": config,
    "cases": cases,
}, sys.stdout, indent=1)
sys.stdout.write("\n")
