#!/usr/bin/env python3
"""Verify a SAML 2.0 bearer assertion (RFC 7522) minted by the STS with
signxml (lxml + cryptography: independent of xmlsec1, which the Rust test
also runs), then check its content.

stdin: {"xml": document holding the assertion (an RSTR envelope or the
        assertion alone), "certificate_pem": "..." or null,
        "public_pem": "...", "issuer", "subject", "audience", "recipient",
        "now": "2026-...Z", "not_before": "...", "expires": "...",
        "attributes": {"name": ["v", ...]}}
Exit status 0 and "ok" when the signature verifies and every field is as
required.
"""
import base64
import json
import sys

from cryptography.hazmat.primitives import serialization

from lxml import etree
from signxml import XMLVerifier
from signxml.algorithms import DigestAlgorithm, SignatureMethod
from signxml.verifier import SignatureConfiguration

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"saml": SAML}

req = json.load(sys.stdin)
doc = etree.fromstring(req["xml"].encode())
if req["certificate_pem"]:
    config = SignatureConfiguration(
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        expect_references=1,
    )
    result = XMLVerifier().verify(
        doc, x509_cert=req["certificate_pem"], expect_config=config, id_attribute="ID"
    )
else:
    # KeyValue: signxml verifies with the key in the document; that key must
    # then be the STS's.
    config = SignatureConfiguration(
        require_x509=False,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        expect_references=1,
    )
    result = XMLVerifier().verify(doc, expect_config=config, id_attribute="ID")
    pub = serialization.load_pem_public_key(req["public_pem"].encode()).public_numbers()
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    modulus = doc.find(f".//{ds}RSAKeyValue/{ds}Modulus").text
    assert int.from_bytes(base64.b64decode(modulus), "big") == pub.n
a = result.signed_xml
assert a.tag == "{%s}Assertion" % SAML, a.tag
# The canonical form signxml checked must be the assertion as sent.
assert a.get("Version") == "2.0"
assert a.get("ID").startswith("_")
assert a.get("IssueInstant") == req["now"], a.get("IssueInstant")
assert a.findtext("saml:Issuer", namespaces=NS) == req["issuer"]
assert a.findtext("saml:Subject/saml:NameID", namespaces=NS) == req["subject"]
sc = a.find("saml:Subject/saml:SubjectConfirmation", NS)
assert sc.get("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
scd = sc.find("saml:SubjectConfirmationData", NS)
assert scd.get("Recipient") == req["recipient"]
assert scd.get("NotOnOrAfter") == req["expires"]
cond = a.find("saml:Conditions", NS)
assert cond.get("NotBefore") == req["not_before"]
assert cond.get("NotOnOrAfter") == req["expires"]
assert cond.findtext("saml:AudienceRestriction/saml:Audience", namespaces=NS) == req["audience"]
assert a.find("saml:AuthnStatement", NS).get("AuthnInstant") == req["now"]
got = {
    at.get("Name"): [v.text for v in at.findall("saml:AttributeValue", NS)]
    for at in a.findall("saml:AttributeStatement/saml:Attribute", NS)
}
assert got == req["attributes"], got
print("ok")
