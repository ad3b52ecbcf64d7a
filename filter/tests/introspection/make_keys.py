#!/usr/bin/env python3
"""Private JWKs for the private_key_jwt tests, made by jwcrypto (independent
of the filter's RustCrypto code).

    pip install jwcrypto && python3 filter/tests/introspection/make_keys.py > filter/tests/introspection/keys.json
"""
import json

from jwcrypto import jwk

keys = {
    "es256": jwk.JWK.generate(kty="EC", crv="P-256", kid="gw-es256"),
    "es384": jwk.JWK.generate(kty="EC", crv="P-384", kid="gw-es384"),
    "rs256": jwk.JWK.generate(kty="RSA", size=2048, kid="gw-rs256"),
}
out = {
    name: {
        "private": json.loads(k.export_private()),
        "public": json.loads(k.export_public()),
    }
    for name, k in keys.items()
}
print(json.dumps(out, indent=1, sort_keys=True))
