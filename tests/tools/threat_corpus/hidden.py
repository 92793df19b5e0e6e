"""Class `pickle_hidden`: a pickle (or a zip holding one) appended to, or
hidden in the bytes no tensor covers of, a GGUF or safetensors file.

No model loader unpickles these bytes by itself; they are a second stage
that a dropper slices out, and a file that carries one is not the model it
claims to be. Issue 20 items 3 and 5: each is an error. The benign twins
are the same files written cleanly by gguf-py and the safetensors package,
plus tensor data that happens to start with pickle-like bytes (weights are
arbitrary bytes and must not be judged).
"""
import json
import struct

import archives
import rawmodel as rm
from common import CMD
from pickleasm import reduce_call

CLS = "pickle_hidden"
EVIL = reduce_call("os", "system", [CMD], 2)
EVIL4 = reduce_call("builtins", "exec", ["__import__('os').system('" + CMD + "')"], 4)


def malicious(corpus, path, data, technique, why, codes):
    corpus.add_file(f"hidden/{path}", data, CLS, technique, "malicious", why, None, codes)


def benign(corpus, path, data, technique, why):
    corpus.add_file(f"hidden/{path}", data, CLS, technique, "benign", why)


def gguf_cases(corpus):
    clean = rm.gguf_writer(rm.small_tensors())
    benign(corpus, "clean.gguf", clean, "a GGUF written by gguf-py's GGUFWriter, two F32 tensors",
           "nothing outside the tensors but zero alignment padding")
    malicious(corpus, "appended-pickle.gguf", clean + EVIL,
              "a valid GGUF with a malicious pickle appended after the last tensor",
              "a payload no tensor covers, riding in a model file", ["gguf.trailing_bytes"])
    malicious(corpus, "appended-torch-zip.gguf", clean + archives.torch_zip(EVIL),
              "a valid GGUF with a malicious torch zip appended: zip readers find the end-of-central-directory "
              "at the end of the file and open it (a GGUF/zip polyglot)",
              "Python's zipfile (and loaders built on it) read it as a zip with a malicious data.pkl",
              ["gguf.trailing_bytes", "pickle.code_execution"])
    # Two tensors of 8 F32 each, the second at offset 32 + len(gap) rounded up.
    gap = EVIL4 + b"\x00" * ((-len(EVIL4)) % 32)
    data = rm.f32(range(8)) + gap + rm.f32(range(8))
    malicious(corpus, "gap-pickle.gguf",
              rm.gguf([("a", [8], rm.F32, 0), ("b", [8], rm.F32, 32 + len(gap))], data),
              "a pickle in the gap between two tensors (offsets leave a hole)",
              "bytes no tensor claims hold a payload", ["gguf.gap"])
    padded = rm.gguf([("a", [8], rm.F32, 0)], rm.f32(range(8)), align=4096, pad_fill=EVIL + b"\x00")
    malicious(corpus, "alignment-padding-pickle.gguf", padded,
              "general.alignment = 4096 and the padding before the data section filled with a pickle",
              "writers pad with zeros; 4 KiB of padding holding a pickle is a hidden payload",
              [])
    benign(corpus, "alignment-4096-zero-padding.gguf",
           rm.gguf([("a", [8], rm.F32, 0)], rm.f32(range(8)), align=4096),
           "general.alignment = 4096 with zero padding", "a legal alignment, padding as writers leave it")
    import numpy as np  # noqa: PLC0415
    prefix = b"\x80\x02cos\nsystem\n"
    weights = np.frombuffer(prefix + b"\x00" * (32 - len(prefix)), dtype=np.float32).copy()
    benign(corpus, "tensor-data-looks-like-pickle.gguf",
           rm.gguf_writer([("token_embd.weight", weights)]),
           "a tensor whose bytes start with a pickle-like prefix (0x80 0x02 'cos\\nsystem\\n')",
           "bytes a tensor covers are weights, whatever they look like; judging them would flag real models")


def safetensors_cases(corpus):
    clean = rm.safetensors_file()
    benign(corpus, "clean.safetensors", clean, "a safetensors file written by the safetensors package",
           "header and contiguous tensor data only")
    malicious(corpus, "appended-pickle.safetensors", clean + EVIL,
              "a valid safetensors file with a malicious pickle appended", "bytes after the data section",
              ["safetensors.trailing_bytes"])
    malicious(corpus, "appended-torch-zip.safetensors", clean + archives.torch_zip(EVIL),
              "a safetensors file with a malicious torch zip appended (a safetensors/zip polyglot)",
              "zip readers open the appended archive", ["safetensors.trailing_bytes"])
    gap = EVIL4
    a = rm.f32(range(4))
    header = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
              "b": {"dtype": "F32", "shape": [4], "data_offsets": [16 + len(gap), 32 + len(gap)]}}
    malicious(corpus, "gap-pickle.safetensors", rm.safetensors_raw(header, a + gap + a),
              "a pickle in a gap between two tensors' byte ranges", "bytes no tensor covers",
              ["safetensors.offsets_gap"])
    # A safetensors file whose header length lies: the "header" is a JSON
    # object padded with spaces, then the data; a pickle after the JSON
    # inside the declared header length is not JSON whitespace.
    hdr = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    body = hdr + b" " + EVIL
    body += b" " * ((-len(body)) % 8)
    malicious(corpus, "header-tail-pickle.safetensors", struct.pack("<Q", len(body)) + body + a,
              "a pickle inside the declared header length, after the JSON object",
              "the header is not strict JSON: the safetensors loader refuses it; the bytes hide a payload",
              ["safetensors.invalid_json"])
    # Written raw: the safetensors package orders several __metadata__ keys
    # differently from run to run, and the corpus must be reproducible.
    benign(corpus, "metadata-strings.safetensors",
           rm.safetensors_raw({"__metadata__": {"format": "pt", "note": "cos system (S'x' tR."},
                               "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, a),
           "__metadata__ strings that mention pickle opcodes as text", "metadata text is never unpickled")


def build(corpus):
    gguf_cases(corpus)
    safetensors_cases(corpus)
