"""Ed25519 as docs/bundle-format.md §7 [B37] asks: RFC 8032 "pure"
verification with the strict rules (`verify_strict`): refuse small-order
keys and small-order R, and non-canonical point encodings. The point rules
are checked here in plain integer arithmetic; the signature equation itself
is checked by `cryptography` (OpenSSL), which also refuses S >= L.
"""

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def decode_point(raw: bytes):
    """RFC 8032 §5.1.3 decoding, refusing every non-canonical encoding:
    y >= p, and x = 0 with the sign bit set. Returns (x, y) or None."""
    if len(raw) != 32:
        return None
    value = int.from_bytes(raw, "little")
    sign = value >> 255
    y = value & ((1 << 255) - 1)
    if y >= P:
        return None
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = (u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P)) % P
    if (v * x * x - u) % P != 0:
        if (v * x * x + u) % P != 0:
            return None
        x = (x * SQRT_M1) % P
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = P - x
    return x, y


def _add(a, b):
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return x3, y3


def is_small_order(point) -> bool:
    """[8]P is the identity (0, 1)."""
    q = point
    for _ in range(3):
        q = _add(q, q)
    return q == (0, 1)


def verify_strict(public: bytes, signature: bytes, message: bytes) -> str | None:
    """None when `signature` is a strict Ed25519 signature of `message`
    under `public`, else why not."""
    if len(signature) != 64:
        return f"signature is {len(signature)} bytes, not 64"
    key_point = decode_point(public)
    if key_point is None:
        return "public key is not a canonical point"
    if is_small_order(key_point):
        return "public key has small order"
    r_point = decode_point(signature[:32])
    if r_point is None:
        return "signature R is not a canonical point"
    if is_small_order(r_point):
        return "signature R has small order"
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return "signature does not verify"
    return None
