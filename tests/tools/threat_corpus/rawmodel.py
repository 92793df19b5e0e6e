"""GGUF and safetensors files built byte by byte, for the layouts the real
writers refuse (gaps, unknown types, NUL-suffixed names), and the real
writers for the benign twins.

GGUF v3 per ggml-org/ggml docs/gguf.md: magic, u32 version, u64 tensor
count, u64 kv count, key/values, tensor infos (name, u32 n_dims, u64 dims,
u32 ggml type, u64 offset relative to the data section), padding to the
alignment, tensor data. safetensors per huggingface/safetensors: u64 LE
header length, JSON header, data.
"""
import io
import json
import os
import struct
import tempfile

STR, ARR, U32 = 8, 9, 4
F32 = 0


def s(text):
    b = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(b)) + b


def kv_str(key, value):
    return s(key) + struct.pack("<I", STR) + s(value)


def kv_u32(key, value):
    return s(key) + struct.pack("<I", U32) + struct.pack("<I", value)


def tensor_info(name, dims, ggml_type, offset):
    return (s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
            + struct.pack("<IQ", ggml_type, offset))


BASE_KVS = [kv_str("general.architecture", "llama"), kv_str("general.name", "lbom-threat-corpus")]


def gguf(tensors, data, kvs=None, align=32, pad_fill=b"\x00"):
    """tensors: list of (name, dims, type, offset); data: the data section.
    `pad_fill` fills the alignment padding before the data section (repeated)."""
    kvs = BASE_KVS if kvs is None else kvs
    if align != 32:
        kvs = kvs + [kv_u32("general.alignment", align)]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    meta = head + b"".join(kvs) + b"".join(tensor_info(*t) for t in tensors)
    n = (-len(meta)) % align
    pad = (pad_fill * (n // len(pad_fill) + 1))[:n] if n else b""
    return meta + pad + data


def f32(values):
    return struct.pack(f"<{len(values)}f", *values)


def gguf_writer(tensors, kv=(), template=None, arch="llama"):
    """A GGUF written by gguf-py's GGUFWriter (the independent writer).
    tensors: list of (name, numpy array); kv: list of (key, str value);
    template: passed to add_chat_template (a string or a list of {name, template})."""
    import gguf as gg  # noqa: PLC0415

    fd, path = tempfile.mkstemp(suffix=".gguf")
    os.close(fd)
    try:
        w = gg.GGUFWriter(path, arch)
        w.add_name("lbom-threat-corpus")
        for key, value in kv:
            w.add_string(key, value)
        if template is not None:
            w.add_chat_template(template)
        for name, arr in tensors:
            w.add_tensor(name, arr)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.remove(path)


def small_tensors():
    import numpy as np  # noqa: PLC0415
    return [("token_embd.weight", np.arange(16, dtype=np.float32).reshape(4, 4)),
            ("output_norm.weight", np.ones(4, dtype=np.float32))]


def safetensors_file(tensors=None, metadata=None):
    """A safetensors file written by the safetensors package (numpy API)."""
    import numpy as np  # noqa: PLC0415
    from safetensors.numpy import save  # noqa: PLC0415
    tensors = tensors or {"model.embed_tokens.weight": np.arange(16, dtype=np.float32).reshape(4, 4),
                          "model.norm.weight": np.ones(4, dtype=np.float32)}
    return save(tensors, metadata=metadata)


def safetensors_raw(header, data):
    """safetensors from a header dict (or raw JSON text) and a data section."""
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    b = text.encode()
    b += b" " * ((-len(b)) % 8)
    return struct.pack("<Q", len(b)) + b + data


def npy_buf(arr):
    import numpy as np  # noqa: PLC0415
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()
