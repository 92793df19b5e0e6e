"""The callables real checkpoints import, and the source that makes each legitimate.

A fixed lbom must not give an error for a pickle whose every import is in
this table (the `benign` pickle cases exercise them). Each row names the
public source that allows or needs the callable, at the commit the code
search reported, and why calling it cannot run attacker code. Written to
tests/vectors/threats/allowlist.json; docs/threat-corpus.md prints it.
"""

TORCH = ("pytorch/pytorch torch/_weights_only_unpickler.py `_get_allowed_globals` / "
         "`_tensor_rebuild_functions` (commit 00f730b66e58769f9698d9236f58cd46c3794115): "
         "torch.load(weights_only=True), the default since torch 2.6, allows it")
A1111 = ("AUTOMATIC1111/stable-diffusion-webui modules/safe.py `RestrictedUnpickler.find_class` "
         "(commit 05933840f0676dd1a90a7e2ad3f2a0672624b2cd) allows it for .ckpt checkpoints")
ESM = ("facebookresearch/esm esm/pretrained.py (commit 04ada6151b2af8bc6e918ecca6e1aa07e2484162) reads "
       "model_data['args'].arch: fairseq-style checkpoints pickle the training argparse.Namespace; torch "
       "loads them once the user calls torch.serialization.add_safe_globals([argparse.Namespace])")

PY2_NAME = ("; protocols 0-2 name it `__builtin__`, which CPython's unpickler maps to `builtins` "
            "(`_compat_pickle.IMPORT_MAPPING`)")

# The exact `module.name` strings a pickle's GLOBAL / STACK_GLOBAL names
# (what lbom matches) where a row stands for several.
STORAGES = ["torch.storage.UntypedStorage"] + [
    f"torch.{t}Storage" for t in (
        "Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
        "ComplexFloat", "ComplexDouble", "QInt8", "QUInt8", "QInt32", "QUInt4x2", "QUInt2x4")]
DTYPES = [f"torch.{t}" for t in (
    "float32", "float64", "float16", "bfloat16", "complex32", "complex64", "complex128",
    "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "bool",
    "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz")]

ROWS = [
    ("_codecs.encode", TORCH, "turns a str into bytes; protocol 2 (torch.save's default) stores every bytes "
                              "object this way"),
    ("collections.OrderedDict", TORCH, "the state-dict container; construction and __setitem__ run no user code"),
    ("collections.Counter", TORCH, "a dict subclass"),
    ("builtins.set", ["builtins.set", "__builtin__.set"], TORCH, "container" + PY2_NAME),
    ("builtins.bytearray", ["builtins.bytearray", "__builtin__.bytearray"], TORCH, "container" + PY2_NAME),
    ("builtins.complex", ["builtins.complex", "__builtin__.complex"], TORCH, "a number" + PY2_NAME),
    ("torch._utils._rebuild_tensor", TORCH, "makes a tensor view of a storage the loader itself provides"),
    ("torch._utils._rebuild_tensor_v2", TORCH, "as above, with requires_grad and hooks (an OrderedDict)"),
    ("torch._utils._rebuild_tensor_v3", TORCH, "as above, with a dtype"),
    ("torch._utils._rebuild_parameter", TORCH, "wraps a tensor in nn.Parameter"),
    ("torch._utils._rebuild_parameter_with_state", TORCH, "as above, with allow-listed state"),
    ("torch._utils._rebuild_qtensor", TORCH, "quantized tensor from a storage"),
    ("torch._utils._rebuild_sparse_tensor", TORCH, "sparse tensor from tensors (validated by torch)"),
    ("torch._utils._rebuild_meta_tensor_no_storage", TORCH, "a meta tensor: shape only"),
    ("torch._utils._rebuild_wrapper_subclass", TORCH, "tensor subclass wrapper"),
    ("torch._utils._rebuild_device_tensor_from_cpu_tensor", TORCH, "moves a tensor to a device"),
    ("torch._utils._rebuild_device_tensor_from_numpy", TORCH, "tensor from a numpy array"),
    ("torch._tensor._rebuild_from_type_v2", TORCH, "tensor subclasses; calls the rebuild functions above"),
    ("torch.Size", TORCH, "a tuple subclass"),
    ("torch.device", TORCH, "a device name"),
    ("torch.Tensor", TORCH, "the tensor type"),
    ("torch.nn.parameter.Parameter", TORCH, "tensor wrapper"),
    ("torch.serialization._get_layout", TORCH, "looks up a layout by name"),
    ("torch.FloatStorage (and the other legacy torch.*Storage classes, torch.storage.UntypedStorage)", STORAGES, TORCH,
     "storage types named in persistent ids; the bytes come from the archive's data/ entries"),
    ("torch.float32 (and every torch dtype)", DTYPES, TORCH, "dtype objects"),
    ("numpy.core.multiarray.scalar / numpy._core.multiarray.scalar",
     ["numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"], A1111,
     "builds a numpy scalar from a dtype and bytes; Lightning/trainer checkpoints carry metrics as numpy scalars "
     "(numpy >= 2 writes the numpy._core name)"),
    ("numpy.core.multiarray._reconstruct / numpy._core.multiarray._reconstruct",
     ["numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct"], A1111,
     "creates an empty ndarray that BUILD fills from bytes"),
    ("numpy.dtype", A1111, "a dtype from a type string"),
    ("numpy.ndarray", A1111, "the array type passed to _reconstruct"),
    ("argparse.Namespace", ESM, "Namespace(**kwargs) and BUILD only set attributes"),
]


def rows():
    """(callable, names, source, why_safe), names defaulting to [callable]."""
    for row in ROWS:
        if len(row) == 3:
            c, s, w = row
            yield c, [c], s, w
        else:
            yield row


def document():
    return {
        "about": "Callables that real checkpoints import and that lbom does not treat as an error (a "
                 "pickle whose every import is listed gets only the pickle.code_execution warning), each "
                 "with the public source that makes it legitimate. lbom reads `names` (exact module.name "
                 "strings) from this file; docs/findings.md and docs/threat-corpus.md print it. Written by "
                 "tests/tools/threat_corpus/allowlist.py.",
        "entries": [{"callable": c, "names": n, "source": s, "why_safe": w} for c, n, s, w in rows()],
    }


def markdown():
    """The table docs/findings.md and docs/threat-corpus.md carry (tests/threat_corpus.rs checks it)."""
    lines = ["| callable | source | why it cannot run attacker code |", "|---|---|---|"]
    for c, n, s, w in rows():
        names = ", ".join(f"`{x}`" for x in n)
        lines.append(f"| {names} | {s} | {w} |")
    return "\n".join(lines)
