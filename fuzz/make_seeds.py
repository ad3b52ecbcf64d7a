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
