#!/usr/bin/env python3
"""Write a corpus of hostile model files, by class, and OUTDIR/index.json.

Usage: hostile.py OUTDIR

Every file is built byte by byte here (not with GGUFWriter or the safetensors
library, which refuse to write broken files), so each fault is exactly the one
named. index.json lists each case:

  {"file": "gguf/truncated-in-kv.gguf",   path relative to OUTDIR
   "class": "gguf.truncated",             the kind of damage
   "code": "gguf.truncated",              the finding code lbom should emit
   "also": ["gguf.limit_exceeded"],       other codes that are just as right
   "severity": "error",                   the least severity that finding needs
   "description": "..."}

A test passes a case when lbom reports a finding of at least `severity` whose
code is `code`, one of `also`, or (reported as a weaker match) any code with
the same prefix ("gguf.").

Generated at test time into a temporary folder; never committed. Two cases
are large when expanded and are sized by environment variables:
LBOM_HOSTILE_BOMB_MB (zip bomb data.pkl, default 1024 MiB uncompressed) and
LBOM_HOSTILE_ZIP_ENTRIES (default 100001, more than Limits::zip_max_entries).

Formats: GGUF per ggml-org/ggml docs/gguf.md; safetensors per
huggingface/safetensors (8-byte LE header length, JSON header, data);
pickle opcodes per CPython Lib/pickletools.py.
"""
import json
import os
import struct
import sys
import zipfile

OUT = sys.argv[1]
CASES = []


def case(rel, data, code, description, also=(), severity="error", cls=None):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    add_case(rel, code, description, also, severity, cls)


def add_case(rel, code, description, also=(), severity="error", cls=None):
    CASES.append({"file": rel, "class": cls or code, "code": code, "also": list(also),
                  "severity": severity, "description": description})


# ============================================================================ GGUF
# Value types (gguf.md "gguf_metadata_value_type") and ggml tensor types used.
U8, I8, U16, I16, U32, I32, F32V, BOOL, STR, ARR, U64, I64, F64 = range(13)
GGML_F32, GGML_Q4_0 = 0, 2
ALIGN = 32


class G:
    """GGUF v3 little-endian pieces."""

    @staticmethod
    def s(text, length=None):
        b = text.encode("utf-8") if isinstance(text, str) else text
        return struct.pack("<Q", len(b) if length is None else length) + b

    @staticmethod
    def kv(key, vtype, payload):
        return G.s(key) + struct.pack("<I", vtype) + payload

    @staticmethod
    def kv_str(key, value):
        return G.kv(key, STR, G.s(value))

    @staticmethod
    def kv_u32(key, value):
        return G.kv(key, U32, struct.pack("<I", value))

    @staticmethod
    def tensor(name, dims, ggml_type, offset):
        return (G.s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
                + struct.pack("<IQ", ggml_type, offset))


BASE_KVS = [G.kv_str("general.architecture", "llama"), G.kv_str("general.name", "hostile")]
# Two F32 tensors of 8 elements (32 bytes each), back to back.
BASE_TENSORS = [G.tensor("a", [8], GGML_F32, 0), G.tensor("b", [8], GGML_F32, 32)]
BASE_DATA = bytes(range(64))


def gguf(kvs=None, tensors=None, data=None, version=3, n_kv=None, n_tensors=None,
         magic=b"GGUF", align=ALIGN):
    """A whole file; returns (bytes, section offsets)."""
    kvs = BASE_KVS if kvs is None else kvs
    tensors = BASE_TENSORS if tensors is None else tensors
    data = BASE_DATA if data is None else data
    head = magic + struct.pack("<IQQ", version,
                               len(tensors) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)
    kv_bytes = b"".join(kvs)
    table = b"".join(tensors)
    meta = head + kv_bytes + table
    pad = b"\x00" * ((-len(meta)) % align) if align else b""
    marks = {"header_end": len(head), "kv_end": len(head) + len(kv_bytes),
             "table_end": len(meta), "data_start": len(meta) + len(pad)}
    return meta + pad + data, marks


def write_gguf_cases():
    valid, m = gguf()
    # -- truncation at every section of a valid file
    cuts = [
        ("in-magic", 3), ("in-version", 6), ("in-tensor-count", 12), ("in-kv-count", 20),
        ("after-header", m["header_end"]), ("in-kv", m["header_end"] + 5),
        ("in-kv-value", m["kv_end"] - 3), ("after-kv", m["kv_end"]),
        ("in-tensor-table", m["kv_end"] + 7), ("in-tensor-offset", m["table_end"] - 2),
        ("before-padding", m["table_end"]),
        ("at-data-start", m["data_start"]), ("in-second-tensor", m["data_start"] + 40),
        ("last-byte", len(valid) - 1),
    ]
    for label, at in cuts:
        also = (["gguf.tensor_out_of_bounds"] if at >= m["table_end"]
                # Fewer than 4 bytes: not even the magic, so the bytes name no format.
                else ["gguf.bad_magic", "format.name_mismatch"] if at < 4 else [])
        case(f"gguf/truncated-{label}.gguf", valid[:at], "gguf.truncated",
             f"valid GGUF cut to {at} of {len(valid)} bytes ({label})", also=also)

    # -- counts the file cannot hold
    for label, n in (("2e63", 1 << 63), ("u64max", (1 << 64) - 1), ("just-below-cap", 999_999)):
        data, _ = gguf(n_kv=n)
        case(f"gguf/kv-count-{label}.gguf", data, "gguf.limit_exceeded",
             f"kv count {n} in a {len(data)}-byte file", also=["gguf.truncated"])
        data, _ = gguf(n_tensors=n)
        case(f"gguf/tensor-count-{label}.gguf", data, "gguf.limit_exceeded",
             f"tensor count {n} in a {len(data)}-byte file", also=["gguf.truncated"])

    # -- lengths
    for label, n in (("2e62", 1 << 62), ("u64max", (1 << 64) - 1)):
        huge_key = struct.pack("<Q", n) + b"general.name" + struct.pack("<I", STR) + G.s("x")
        data, _ = gguf(kvs=[huge_key])
        case(f"gguf/key-length-{label}.gguf", data, "gguf.limit_exceeded",
             f"key length {n}", also=["gguf.truncated", "gguf.bad_string"])
        data, _ = gguf(kvs=[G.kv("general.name", STR, G.s("x", length=n))])
        case(f"gguf/string-length-{label}.gguf", data, "gguf.limit_exceeded",
             f"string value length {n}", also=["gguf.truncated", "gguf.bad_string"])
    data, _ = gguf(kvs=[G.kv("general.name", STR, G.s("short", length=1 << 20))])
    case("gguf/string-length-beyond-eof.gguf", data, "gguf.truncated",
         "string length 1 MiB (under the cap) in a tiny file", also=["gguf.bad_string"])
    name_kv = G.kv("general.name", STR, G.s(b"\xff\xfe not utf-8 \xc3\x28"))
    data, _ = gguf(kvs=[BASE_KVS[0], name_kv])
    # llama.cpp loads strings that are not UTF-8: a warning (docs/findings.md).
    case("gguf/string-invalid-utf8.gguf", data, "gguf.invalid_utf8", "string value is not UTF-8",
         severity="warning")
    bad_key = G.s(b"general.\xc0\xafname") + struct.pack("<I", STR) + G.s("x")
    data, _ = gguf(kvs=[BASE_KVS[0], bad_key])
    case("gguf/key-invalid-utf8.gguf", data, "gguf.invalid_utf8", "key is overlong UTF-8",
         severity="warning")
    for label, n in (("2e60", 1 << 60), ("u64max", (1 << 64) - 1)):
        arr = struct.pack("<IQ", U8, n) + b"\x00" * 16
        data, _ = gguf(kvs=[BASE_KVS[0], G.kv("tokenizer.ggml.scores", ARR, arr)])
        case(f"gguf/array-length-{label}.gguf", data, "gguf.limit_exceeded",
             f"u8 array of {n} elements in a tiny file", also=["gguf.truncated"])
    arr = struct.pack("<IQ", STR, 100_000_000)
    data, _ = gguf(kvs=[BASE_KVS[0], G.kv("tokenizer.ggml.tokens", ARR, arr)])
    case("gguf/array-of-strings-beyond-eof.gguf", data, "gguf.truncated",
         "array of 100,000,000 strings (at the cap) in a tiny file: each needs 8 bytes",
         also=["gguf.limit_exceeded"])

    # -- nesting
    for depth in (6, 100_000):
        # Outer levels are arrays of one array each; the innermost holds one u8.
        inner = struct.pack("<IQ", ARR, 1) * (depth - 1) + struct.pack("<IQ", U8, 1) + b"\x07"
        data, _ = gguf(kvs=[BASE_KVS[0], G.kv("general.nested", ARR, inner)])
        case(f"gguf/array-nested-{depth}.gguf", data, "gguf.limit_exceeded",
             f"arrays nested {depth} deep (cap 4)", also=["gguf.bad_value_type"])

    # -- value types
    data, _ = gguf(kvs=[BASE_KVS[0], G.kv("general.odd", 13, b"\x00" * 8)])
    case("gguf/value-type-13.gguf", data, "gguf.bad_value_type", "kv value type 13 does not exist")
    data, _ = gguf(kvs=[BASE_KVS[0], G.kv("general.odd", 0xFFFFFFFF, b"\x00" * 8)])
    case("gguf/value-type-u32max.gguf", data, "gguf.bad_value_type", "kv value type 0xFFFFFFFF")
    data, _ = gguf(kvs=[BASE_KVS[0], G.kv("general.odd", ARR, struct.pack("<IQ", 99, 2) + b"\x00" * 8)])
    case("gguf/array-element-type-99.gguf", data, "gguf.bad_value_type", "array element type 99")
    data, _ = gguf(kvs=[BASE_KVS[0], G.kv_str("general.name", "one"), G.kv_str("general.name", "two")])
    case("gguf/duplicate-key.gguf", data, "gguf.duplicate_key", "general.name twice")

    # -- tensor table
    data, _ = gguf(tensors=[BASE_TENSORS[0], G.tensor("a", [8], GGML_F32, 32)])
    case("gguf/duplicate-tensor.gguf", data, "gguf.duplicate_tensor", "tensor name 'a' twice")
    data, _ = gguf(tensors=[G.tensor("a", [1, 1, 1, 1, 8], GGML_F32, 0), BASE_TENSORS[1]])
    case("gguf/n-dims-5.gguf", data, "gguf.bad_dims", "tensor with 5 dimensions (ggml's max is 4)")
    bad = G.s("a") + struct.pack("<I", 0xFFFFFFFF) + struct.pack("<Q", 8)
    data, _ = gguf(tensors=[bad])
    case("gguf/n-dims-u32max.gguf", data, "gguf.bad_dims", "n_dims 0xFFFFFFFF",
         also=["gguf.truncated", "gguf.limit_exceeded"])
    data, _ = gguf(tensors=[G.tensor("a", [1 << 32, 1 << 32, 1 << 16, 2], GGML_F32, 0)])
    case("gguf/dims-product-overflow.gguf", data, "gguf.bad_dims",
         "dims whose product is 2^81 (overflows u64)", also=["gguf.tensor_out_of_bounds"])
    data, _ = gguf(tensors=[G.tensor("a", [1 << 63], GGML_F32, 0)])
    case("gguf/dim-negative-as-i64.gguf", data, "gguf.bad_dims",
         "dimension 2^63 (negative as ggml's int64_t)", also=["gguf.tensor_out_of_bounds"])
    data, _ = gguf(tensors=[BASE_TENSORS[0], G.tensor("b", [8], GGML_F32, 4096)])
    case("gguf/tensor-offset-beyond-eof.gguf", data, "gguf.tensor_out_of_bounds",
         "tensor b at data offset 4096 in a 64-byte data section", also=["gguf.truncated"])
    data, _ = gguf(tensors=[BASE_TENSORS[0], G.tensor("b", [8], GGML_F32, (1 << 64) - 32)])
    case("gguf/tensor-offset-wraps.gguf", data, "gguf.tensor_out_of_bounds",
         "tensor offset + size wraps around u64", also=["gguf.truncated", "gguf.tensor_misaligned"])
    data, _ = gguf(tensors=[G.tensor("a", [16], GGML_F32, 0), G.tensor("b", [8], GGML_F32, 32)],
                   data=bytes(96))
    case("gguf/tensors-overlap.gguf", data, "gguf.tensors_overlap",
         "tensor a covers [0, 64), tensor b starts at 32")
    data, _ = gguf(tensors=[BASE_TENSORS[0], G.tensor("b", [8], GGML_F32, 36)], data=bytes(96))
    case("gguf/tensor-misaligned.gguf", data, "gguf.tensor_misaligned",
         "tensor b at offset 36, alignment 32")
    data, _ = gguf(tensors=[G.tensor("a", [10], GGML_Q4_0, 0)])
    case("gguf/tensor-not-whole-blocks.gguf", data, "gguf.tensor_size_mismatch",
         "Q4_0 tensor of 10 elements (blocks hold 32)", also=["gguf.bad_dims"])
    for value in (0, 3):
        kvs = [BASE_KVS[0], G.kv_u32("general.alignment", value)]
        data, _ = gguf(kvs=kvs, align=ALIGN)
        case(f"gguf/alignment-{value}.gguf", data, "gguf.bad_alignment",
             f"general.alignment = {value} (must be a power of two)")

    # -- header
    data, _ = gguf(magic=b"GGUX")
    case("gguf/bad-magic.gguf", data, "gguf.bad_magic", "magic GGUX under a .gguf name",
         also=["format.name_mismatch"])
    for v in (0, 4, 0xFFFFFFFF):
        data, _ = gguf(version=v)
        case(f"gguf/version-{v:#x}.gguf", data, "gguf.unsupported_version", f"version {v}")
    # Big-endian header (version 3 read as BE) with a huge tensor count.
    be = b"GGUF" + struct.pack(">IQQ", 3, 1 << 62, 1)
    case("gguf/big-endian-huge-tensor-count.gguf", be, "gguf.limit_exceeded",
         "big-endian header, tensor count 2^62", also=["gguf.truncated"])


# ===================================================================== safetensors
def st(header, data=b"", length=None):
    h = header.encode("utf-8") if isinstance(header, str) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def st_json(tensors, metadata=None):
    obj = dict(tensors)
    if metadata is not None:
        obj["__metadata__"] = metadata
    return json.dumps(obj, separators=(",", ":"))


def t(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def write_safetensors_cases():
    ok = st_json({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 8, 16)})
    case("safetensors/header-length-2e63.safetensors", st(ok, bytes(16), length=1 << 63),
         "safetensors.header_too_large", "header length 2^63", also=["safetensors.truncated"])
    case("safetensors/header-length-beyond-file.safetensors", st(ok, bytes(16), length=4096),
         "safetensors.truncated", "header length 4096 in a 50-byte file",
         also=["safetensors.invalid_json"])
    # 100,000,001 > the 100 MB cap; a sparse file keeps the disk cost near zero.
    rel = "safetensors/header-length-100MB-plus-1.safetensors"
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 100_000_001))
        f.truncate(8 + 100_000_001 + 16)
    add_case(rel, "safetensors.header_too_large",
             "header length 100,000,001 (cap 100,000,000), file long enough to hold it",
             also=["format.name_mismatch"])
    case("safetensors/invalid-json.safetensors", st('{"a": {"dtype": "F32",', bytes(8)),
         "safetensors.invalid_json", "header is not JSON")
    case("safetensors/non-object.safetensors", st("[1, 2, 3]"), "safetensors.invalid_json",
         "header is a JSON array", also=["safetensors.bad_metadata", "format.name_mismatch"])
    case("safetensors/header-not-utf8.safetensors", st(b'{"\xff\xfe": 1}'), "safetensors.invalid_json",
         "header is not UTF-8")
    dup = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    case("safetensors/duplicate-tensor-key.safetensors", st(dup, bytes(8)),
         "safetensors.duplicate_key", "tensor 'a' twice (the safetensors library keeps the last copy)",
         also=["safetensors.invalid_json"])
    dup_in = '{"a":{"dtype":"F32","dtype":"I8","shape":[2],"data_offsets":[0,8]}}'
    case("safetensors/duplicate-field-in-tensor.safetensors", st(dup_in, bytes(8)),
         "safetensors.duplicate_key", "'dtype' twice inside tensor 'a'",
         also=["safetensors.invalid_json"])
    case("safetensors/unknown-dtype.safetensors", st(st_json({"a": t("F7", [2], 0, 8)}), bytes(8)),
         "safetensors.unknown_dtype", "dtype F7")
    case("safetensors/begin-after-end.safetensors", st(st_json({"a": t("F32", [2], 8, 0)}), bytes(8)),
         "safetensors.bad_offsets", "data_offsets [8, 0]", also=["safetensors.size_mismatch"])
    hdr = st_json({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 4, 12)})
    case("safetensors/offsets-overlap.safetensors", st(hdr, bytes(12)), "safetensors.offsets_overlap",
         "a [0,8) and b [4,12)", also=["safetensors.bad_offsets"])
    hdr = st_json({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 16, 24)})
    case("safetensors/offsets-gap.safetensors", st(hdr, bytes(24)), "safetensors.offsets_gap",
         "bytes [8,16) belong to no tensor", also=["safetensors.bad_offsets"])
    hdr = st_json({"a": t("F32", [2], 8, 16)})
    case("safetensors/offsets-not-covering.safetensors", st(hdr, bytes(16)),
         "safetensors.offsets_not_covering", "the data section starts with 8 bytes no tensor covers",
         also=["safetensors.offsets_gap", "safetensors.bad_offsets"])
    hdr = st_json({"a": t("F32", [3], 0, 8)})
    case("safetensors/shape-dtype-mismatch.safetensors", st(hdr, bytes(8)), "safetensors.size_mismatch",
         "F32 [3] needs 12 bytes, offsets give 8", also=["safetensors.bad_offsets"])
    hdr = st_json({"a": t("F32", [1 << 40, 1 << 40], 0, 8)})
    case("safetensors/shape-overflow.safetensors", st(hdr, bytes(8)), "safetensors.overflow",
         "shape [2^40, 2^40] x 4 bytes overflows u64", also=["safetensors.size_mismatch"])
    hdr = st_json({"a": t("F32", [2], 0, 8)}, metadata={"format": "pt", "epoch": 3})
    case("safetensors/metadata-non-string.safetensors", st(hdr, bytes(8)), "safetensors.bad_metadata",
         "__metadata__ value is a number")
    hdr = st_json({"a": t("F32", [2], 0, 8)}, metadata=["format", "pt"])
    case("safetensors/metadata-not-object.safetensors", st(hdr, bytes(8)), "safetensors.bad_metadata",
         "__metadata__ is an array")
    # The design calls trailing bytes "suspicious content": at least a warning.
    hdr = st_json({"a": t("F32", [2], 0, 8)})
    case("safetensors/trailing-bytes.safetensors", st(hdr, bytes(8) + b"TRAILING-PAYLOAD"),
         "safetensors.trailing_bytes", "16 bytes after the last tensor", severity="warning",
         also=["safetensors.offsets_not_covering"])
    hdr = st_json({"a": t("F32", [16], 0, 64)})
    case("safetensors/truncated-data.safetensors", st(hdr, bytes(10)), "safetensors.truncated",
         "header promises 64 data bytes, file has 10", also=["safetensors.offsets_not_covering"])
    # No header to sniff: "the name claims a format the bytes do not have" is as right.
    case("safetensors/empty.safetensors", b"", "safetensors.truncated", "empty file",
         also=["format.name_mismatch"])
    case("safetensors/only-length.safetensors", struct.pack("<Q", 2), "safetensors.truncated",
         "header length 2 and nothing after it", also=["format.name_mismatch"])


# ========================================================================== pickle
def binunicode(s, length=None):
    b = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(b) if length is None else length) + b


def short(s):
    b = s.encode("utf-8")
    return b"\x8c" + bytes([len(b)]) + b


def write_pickle_cases():
    good = b"\x80\x04" + short("builtins") + short("print") + b"\x93" + short("hi") + b"\x85R."
    case("pickle/truncated.pkl", good[:12], "pickle.malformed", "a pickle cut before STOP",
         also=["pickle.code_execution"])
    case("pickle/unknown-opcode.pkl", b"\x80\x02\xff\x00.", "pickle.malformed", "opcode 0xff")
    case("pickle/binunicode-huge.pkl", b"\x80\x02" + binunicode("x", length=0xFFFFFFFF) + b".",
         "pickle.malformed", "BINUNICODE length 4 GiB in a tiny file", also=["pickle.limit_exceeded"])
    case("pickle/binbytes8-huge.pkl", b"\x80\x04\x8e" + struct.pack("<Q", 1 << 62) + b"x.",
         "pickle.malformed", "BINBYTES8 length 2^62", also=["pickle.limit_exceeded"])
    case("pickle/os-system-global.pkl", b"cos\nsystem\n(S'echo pwned'\ntR.",
         "pickle.code_execution", "GLOBAL os.system, REDUCE (protocol 0)")
    evil_eval = (b"\x80\x04" + short("builtins") + short("eval") + b"\x93"
                 + short("__import__('os').system('echo pwned')") + b"\x85R.")
    case("pickle/builtins-eval-stack-global.pkl", evil_eval, "pickle.code_execution",
         "STACK_GLOBAL builtins.eval")
    # Module and name pushed once, memoised, fetched back with BINGET: a scanner
    # that only looks at the strings right before STACK_GLOBAL misses it.
    memo = (b"\x80\x04" + short("subprocess") + b"\x94" + short("check_output") + b"\x94"
            + b"0" * 2                                      # POP both: only the memo holds them
            + b"h\x00h\x01\x93"                             # BINGET 0, BINGET 1, STACK_GLOBAL
            + short("id") + b"\x85\x94R.")
    case("pickle/subprocess-memo-stack-global.pkl", memo, "pickle.code_execution",
         "subprocess.check_output via memoised STACK_GLOBAL operands")
    # A torch-style zip whose data.pkl expands to a large run of NONE opcodes.
    bomb_mb = int(os.environ.get("LBOM_HOSTILE_BOMB_MB", "1024"))
    rel = "pickle/zip-bomb/pytorch_model.bin"
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    chunk = b"N" * (1 << 20)
    bomb = zipfile.ZipInfo("archive/data.pkl", date_time=(1980, 1, 1, 0, 0, 0))
    bomb.compress_type = zipfile.ZIP_DEFLATED  # a ZipInfo ignores ZipFile(compression=...)
    with zipfile.ZipFile(path, "w", compresslevel=9) as z:
        with z.open(bomb, "w", force_zip64=True) as f:
            f.write(b"\x80\x02")
            for _ in range(bomb_mb):
                f.write(chunk)
            f.write(b".")
        z.writestr(zipfile.ZipInfo("archive/version", date_time=(1980, 1, 1, 0, 0, 0)), b"3\n")
    add_case(rel, "pickle.limit_exceeded",
             f"data.pkl of {bomb_mb} MiB compressed to {os.path.getsize(path)} bytes",
             also=["pickle.malformed", "pickle.code_execution"])
    n_entries = int(os.environ.get("LBOM_HOSTILE_ZIP_ENTRIES", "100001"))
    rel = "pickle/zip-many-entries/pytorch_model.bin"
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("archive/data.pkl", date_time=(1980, 1, 1, 0, 0, 0)), b"\x80\x02N.")
        for i in range(n_entries - 1):
            z.writestr(zipfile.ZipInfo(f"archive/data/{i}", date_time=(1980, 1, 1, 0, 0, 0)), b"")
    # The cap leaves the pickles unscanned: lbom says so as the error
    # pickle.code_execution (the limit itself is a warning).
    add_case(rel, "pickle.limit_exceeded", f"a torch-style zip with {n_entries} entries",
             also=["pickle.malformed", "pickle.code_execution"])


def main():
    os.makedirs(OUT, exist_ok=True)
    write_gguf_cases()
    write_safetensors_cases()
    write_pickle_cases()
    files = [c["file"] for c in CASES]
    assert len(files) == len(set(files)), "duplicate case file names"
    with open(os.path.join(OUT, "index.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": CASES}, f, indent=2)
        f.write("\n")
    print(f"hostile.py: {len(CASES)} cases in {OUT}", file=sys.stderr)


main()
