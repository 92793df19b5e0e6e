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

ROWS = [
    ("_codecs.encode", TORCH, "turns a str into bytes; protocol 2 (torch.save's default) stores every bytes "
                              "object this way"),
    ("collections.OrderedDict", TORCH, "the state-dict container; construction and __setitem__ run no user code"),
    ("collections.Counter", TORCH, "a dict subclass"),
    ("builtins.set", TORCH, "container"),
    ("builtins.bytearray", TORCH, "container"),
    ("builtins.complex", TORCH, "a number"),
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
    ("torch.FloatStorage (and the other legacy torch.*Storage classes, torch.storage.UntypedStorage)", TORCH,
     "storage types named in persistent ids; the bytes come from the archive's data/ entries"),
    ("torch.float32 (and every torch dtype)", TORCH, "dtype objects"),
    ("numpy.core.multiarray.scalar / numpy._core.multiarray.scalar", A1111,
     "builds a numpy scalar from a dtype and bytes; Lightning/trainer checkpoints carry metrics as numpy scalars "
     "(numpy >= 2 writes the numpy._core name)"),
    ("numpy.core.multiarray._reconstruct / numpy._core.multiarray._reconstruct", A1111,
     "creates an empty ndarray that BUILD fills from bytes"),
    ("numpy.dtype", A1111, "a dtype from a type string"),
    ("numpy.ndarray", A1111, "the array type passed to _reconstruct"),
    ("argparse.Namespace", ESM, "Namespace(**kwargs) and BUILD only set attributes"),
]


def document():
    return {
        "about": "Callables that real checkpoints import and that a fixed lbom must not treat as an error, "
                 "each with the public source that makes it legitimate. Written by "
                 "tests/tools/threat_corpus/allowlist.py.",
        "entries": [{"callable": c, "source": s, "why_safe": w} for c, s, w in ROWS],
    }


def markdown():
    lines = ["| callable | source | why it cannot run attacker code |", "|---|---|---|"]
    for c, s, w in ROWS:
        lines.append(f"| `{c}` | {s} | {w} |")
    return "\n".join(lines)
