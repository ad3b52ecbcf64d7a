#!/usr/bin/env python3
"""Writes the committed seed corpus of the wire targets (fuzz/corpus/<target>/).
Run from anywhere: python3 fuzz/make_seeds.py"""
import os, struct

HERE = os.path.dirname(os.path.abspath(__file__))

def header_map(pairs):
    out = struct.pack('<I', len(pairs))
    for k, v in pairs:
        out += struct.pack('<II', len(k), len(v))
    for k, v in pairs:
        out += k + b'\0' + v + b'\0'
    return out

def varint(n):
    out = b''
    while n >= 0x80:
        out += bytes([(n & 0x7f) | 0x80]); n >>= 7
    return out + bytes([n])

def field(num, value):
    return varint(num << 3 | 2) + varint(len(value)) + value

def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)

write('header_map', 'request', header_map([(b':method', b'GET'), (b':path', b'/a?b'), (b'authorization', b'Bearer x.y.z')]))
write('header_map', 'non_utf8', header_map([(b'x-a', b'\xff\xfe'), (b'\xc3', b'ok')]))
write('header_map', 'empty', header_map([]))
write('header_map', 'truncated', header_map([(b'k', b'v')])[:-2])
write('verify_signature_args', 'rs256', field(1, b'sha256') + field(2, b'\x30' * 40) + field(3, b'\x01' * 256) + field(4, b'a.b'))
write('verify_signature_args', 'pem', field(5, b'-----BEGIN PUBLIC KEY-----'))
write('verify_signature_result', 'valid', b'\x08\x01')
write('verify_signature_result', 'invalid', field(2, b'signature does not verify'))

ES256 = b"eyJhbGciOiJFUzI1NiIsImtpZCI6ImVjMSIsInR5cCI6ImF0K2p3dCJ9.eyJhdWQiOiJhcGkiLCJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vYXMiLCJzY29wZSI6InJlYWQiLCJzdWIiOiJhIn0.KwxVH15IpQmvODstZjozgYE4uDhon76CDJjNHOved1KZAhnmHmRXSBdub9hCFX-wHqN80CoBrcsQZYXiJu-Jeg"
HS256 = b"eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzMSJ9.eyJpc3MiOiJodHRwczovL2FzIiwic3ViIjoiYSJ9.BTV-N1VLSjJIInxzHQ3uqYOzswwalVCfqLRGYOzDvSc"
# Tokens signed by python jwcrypto with the keys of fuzz-targets/keys.json.
write('jws', 'es256', ES256)
write('jws', 'hs256', HS256)
write('jws', 'alg_none', b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.")
write('json', 'object', b'{"a":1,"b":[true,null,"x"],"c":{"d":1.5e3}}')
write('json', 'duplicate', b'{"a":1,"a":2}')
with open(os.path.join(HERE, '..', 'fuzz-targets', 'keys.json'), 'rb') as f:
    write('jwks', 'four_keys', f.read())
write('jwks', 'bad_key', b'{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}')
write('extract', 'bearer', header_map([(b'authorization', b'Bearer ' + ES256)]))
write('extract', 'two', header_map([(b'authorization', b'Bearer a'), (b'Authorization', b'Bearer b')]))
write('extract', 'comma', header_map([(b'authorization', b'Bearer a, Bearer b')]))
for i, p in enumerate([b'/orders/1?x=1', b'/admin/../public', b'/admin/%2e%2e/public', b'/admin%2Fusers',
                       b'/x/..;/admin', b'//a///b/', b'/%7Euser/%41', b'/a\\b', b'/a%00b']):
    write('path', f'p{i}', p)
write('introspection_answer', 'active', b'\x01{"active":true,"sub":"a","scope":"read","exp":4102444800,"token_type":"Bearer"}')
write('introspection_answer', 'inactive', b'\x01{"active":false}')
write('introspection_answer', 'refresh', b'\x01{"active":true,"token_type":"refresh_token"}')
write('token_answer', 'ok', b'\x01{"access_token":"abc","token_type":"Bearer","expires_in":300}')
write('token_answer', 'error', b'\x02{"error":"invalid_client"}')
write('token_answer', 'discovery', b'\x01{"issuer":"https://as","token_endpoint":"https://as/token"}')
write('host_config', 'minimal', b"listeners: [{address: 127.0.0.1:0}]\nroutes: [{cluster: b}]\nclusters: [{name: b, address: 'http://127.0.0.1:1'}]\n")
write('host_config', 'json', b'{"listeners":[{"address":"127.0.0.1:0","limits":{"max_connections":2}}],"routes":[],"clusters":[]}')

# Seeds of the sender-constraint and JWE targets, from the vectors made by
# independent libraries (filter/tests/vectors/make_{jwe,binding}_vectors.py).
import json
VEC = os.path.join(HERE, '..', 'filter', 'tests', 'vectors')
with open(os.path.join(VEC, 'jwe_vectors.json')) as f:
    jwe = json.load(f)
for i, case in enumerate(jwe['cases'][:12]):
    write('jwe', f'case{i}', case['token'].encode())
with open(os.path.join(VEC, 'binding_vectors.json')) as f:
    binding = json.load(f)
for i, case in enumerate(binding['dpop'][:12]):
    if case.get('proofs'):
        write('dpop', f'proof{i}', case['proofs'][0].encode())
for i, case in enumerate(binding['mtls'][:12]):
    for j, v in enumerate(case.get('values') or []):
        write('cert_header', f'header{i}_{j}', v.encode())
