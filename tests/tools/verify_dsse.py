#!/usr/bin/env python3
# Copied from the project's shared validators (verify_dsse.py): an independent DSSE +
# in-toto Statement v1 check with securesystemslib, cryptography and in-toto-attestation.
"""Independently verify a DSSE envelope carrying an in-toto Statement v1,
signed with ed25519.  Three independent checks:

 1. securesystemslib.dsse.Envelope.verify  (NYU/in-toto reference lib)
    NB: it only tries keys whose keyid == signature["keyid"]; we therefore
    build the key with the keyid found in the envelope (DSSE says keyid is
    optional/unauthenticated, securesystemslib issue #416).
 2. hand-computed PAE + `cryptography` Ed25519PublicKey.verify (spec check:
    PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body, lengths in ASCII decimal)
 3. in_toto_attestation.v1.Statement(...).validate() on the decoded payload
    (+ optional: each subject digest re-computed against files in --root)

Usage:
  verify_dsse.py ENVELOPE.json PUBKEY [--root DIR]
  PUBKEY: PEM SubjectPublicKeyInfo, OpenSSH "ssh-ed25519 ..." line, or 32 raw bytes / 64 hex chars.
Exit 0 on success.
"""
import base64, copy, hashlib, json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.signer import SSlibKey
import google.protobuf.json_format as pbj
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement


def load_pub(path):
    raw = open(path, "rb").read()
    s = raw.strip()
    if s.startswith(b"-----BEGIN"):
        return serialization.load_pem_public_key(s)
    if s.startswith(b"ssh-ed25519"):
        return serialization.load_ssh_public_key(s)
    if len(raw) == 32:
        return Ed25519PublicKey.from_public_bytes(raw)
    if len(s) == 64:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(s.decode()))
    raise SystemExit("unrecognised public key format")


def b64(s: str) -> bytes:
    """DSSE allows standard or URL-safe base64, padded or not."""
    s = s.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4), validate=True)


def pae(ptype: str, body: bytes) -> bytes:
    t = ptype.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


env_path, key_path = sys.argv[1], sys.argv[2]
root = sys.argv[sys.argv.index("--root") + 1] if "--root" in sys.argv else None
envd = json.load(open(env_path))
pub = load_pub(key_path)
body = b64(envd["payload"])
assert envd["payloadType"] == "application/vnd.in-toto+json", envd["payloadType"]

# 1. securesystemslib
ok1, err = False, None
for sig in envd["signatures"]:
    key = SSlibKey.from_crypto(pub, keyid=sig.get("keyid", ""))
    try:
        # NB: Envelope.from_dict mutates its argument (pops "sig"), hence deepcopy
        Envelope.from_dict(copy.deepcopy(envd)).verify([key], 1); ok1 = True; break
    except Exception as e:
        err = e
print("securesystemslib Envelope.verify:", "OK" if ok1 else f"FAIL ({err})")

# 2. raw PAE + cryptography
ok2 = False
for sig in envd["signatures"]:
    try:
        pub.verify(b64(sig["sig"]), pae(envd["payloadType"], body)); ok2 = True
    except Exception as e:
        print("  raw verify error:", type(e).__name__, e)
print("raw PAE + cryptography ed25519:", "OK" if ok2 else "FAIL")

# 3. in-toto Statement v1 structure
stmt = json.loads(body)
pb = statement_pb2.Statement()
pbj.ParseDict(stmt, pb)          # rejects unknown top-level fields
Statement.copy_from_pb(pb).validate()
print("in_toto_attestation Statement.validate: OK  predicateType=%s subjects=%d" % (stmt["predicateType"], len(stmt["subject"])))
ok3 = True
if root:
    for s in stmt["subject"]:
        want = s["digest"].get("sha256")
        fp = os.path.join(root, s["name"])
        if not os.path.exists(fp):
            print("  subject", s["name"], "MISSING under", root); ok3 = False; continue
        got = hashlib.sha256(open(fp, "rb").read()).hexdigest()
        print("  subject", s["name"], "sha256", "OK" if got == want else f"MISMATCH {got}")
        ok3 &= got == want
sys.exit(0 if (ok1 and ok2 and ok3) else 1)
