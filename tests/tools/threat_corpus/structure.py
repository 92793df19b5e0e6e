"""Class `structure`: header attacks a parser that only reads the fields it
knows misses (issue 20 item 5).

NUL-suffixed duplicate keys and tensor names (GGUF and safetensors): a
C-string reader (llama.cpp) sees one name where a byte reader sees two.
Tensor names of 64 bytes or more: over ggml's GGML_MAX_NAME (64, NUL
included), refused by llama.cpp. Unknown ggml type ids: their size cannot
be computed, so the bytes they claim are unaccounted for and can hide a
payload. Polyglots: bytes no tensor covers that hold another format's magic
(zip, ELF, GGUF). Each must be an error; the benign twins sit just inside
each limit.
"""
import archives
import rawmodel as rm
from common import CMD
from pickleasm import reduce_call
from templates import SGLANG_PAYLOAD

CLS = "structure"
EVIL = reduce_call("os", "system", [CMD], 2)
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40


def malicious(corpus, path, data, technique, why, codes):
    corpus.add_file(f"structure/{path}", data, CLS, technique, "malicious", why, None, codes)


def benign(corpus, path, data, technique, why):
    corpus.add_file(f"structure/{path}", data, CLS, technique, "benign", why)


def two_tensors(name_a="a", name_b="b"):
    return [(name_a, [8], rm.F32, 0), (name_b, [8], rm.F32, 32)], rm.f32(range(16))


def nul_keys(corpus):
    t, d = two_tensors()
    good = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    kvs = rm.BASE_KVS + [rm.kv_str("tokenizer.chat_template", good),
                         rm.kv_str(b"tokenizer.chat_template\x00", SGLANG_PAYLOAD)]
    malicious(corpus, "gguf-nul-suffixed-key-hostile-second.gguf", rm.gguf(t, d, kvs),
              "tokenizer.chat_template twice: plain, then NUL-suffixed holding an SSTI payload",
              "a C-string reader sees the same key twice; which value a consumer uses depends on the reader",
              ["key.nul", "key.shadowed"])
    kvs = rm.BASE_KVS + [rm.kv_str(b"tokenizer.chat_template\x00", SGLANG_PAYLOAD),
                         rm.kv_str("tokenizer.chat_template", good)]
    malicious(corpus, "gguf-nul-suffixed-key-hostile-first.gguf", rm.gguf(t, d, kvs),
              "the NUL-suffixed copy of tokenizer.chat_template first: llama.cpp (first C-string match) "
              "renders the hostile one, a byte-exact reader reports the benign one",
              "the report would show a template the runtime never uses", ["key.nul", "key.shadowed"])
    t2 = [("blk.0.attn_q.weight", [8], rm.F32, 0), (b"blk.0.attn_q.weight\x00evil", [8], rm.F32, 32)]
    malicious(corpus, "gguf-nul-suffixed-tensor.gguf", rm.gguf(t2, d),
              "two tensors whose names are equal as C strings (the second NUL-suffixed)",
              "llama.cpp refuses duplicate tensor names; the second is invisible to C readers",
              ["gguf.duplicate_tensor", "key.nul"])
    a = rm.f32(range(4))
    hdr = ('{"weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},'
           '"weight\\u0000":{"dtype":"F32","shape":[4],"data_offsets":[16,32]}}')
    malicious(corpus, "safetensors-nul-suffixed-key.safetensors", rm.safetensors_raw(hdr, a + a),
              "safetensors keys 'weight' and 'weight\\u0000'",
              "C consumers of the header cut the second at the NUL and see two tensors named weight",
              ["key.nul"])
    hdr = ('{"__metadata__":{"format":"pt","format\\u0000":"pickle"},'
           '"weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}')
    malicious(corpus, "safetensors-nul-suffixed-metadata.safetensors", rm.safetensors_raw(hdr, a),
              "__metadata__ keys 'format' and 'format\\u0000' (pt vs pickle)",
              "a C reader sees format twice with different values", ["key.nul"])
    kvs = rm.BASE_KVS + [rm.kv_str("tokenizer.chat_template", good),
                         rm.kv_str("tokenizer.chat_template.tool_use", good)]
    benign(corpus, "gguf-distinct-similar-keys.gguf", rm.gguf(t, d, kvs),
           "tokenizer.chat_template and tokenizer.chat_template.tool_use: similar, distinct keys",
           "the GGUF convention for named templates")
    benign(corpus, "safetensors-similar-keys.safetensors",
           rm.safetensors_raw({"weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                               "weight2": {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]}}, a + a),
           "keys weight and weight2", "distinct names")


def long_names(corpus):
    d = rm.f32(range(8))
    for n in (64, 65, 255, 4096):
        name = ("blk.0.ffn_up.weight." + "x" * n)[:n]
        malicious(corpus, f"gguf-tensor-name-{n}-bytes.gguf", rm.gguf([(name, [8], rm.F32, 0)], d),
                  f"a tensor name of {n} bytes",
                  "llama.cpp refuses names of GGML_MAX_NAME (64) bytes or more (the limit counts the NUL)",
                  [])
    name = ("blk.0.ffn_up.weight." + "x" * 63)[:63]
    benign(corpus, "gguf-tensor-name-63-bytes.gguf", rm.gguf([(name, [8], rm.F32, 0)], d),
           "a tensor name of 63 bytes", "the longest name ggml accepts (63 bytes + NUL)")


def unknown_types(corpus):
    # The unknown-type tensor claims the first region; its size cannot be
    # computed, so the next tensor's offset is the only bound. The region holds
    # a pickle (or a zip).
    for label, blob in (("pickle", EVIL), ("torch-zip", archives.torch_zip(EVIL))):
        hole = blob + b"\x00" * ((-len(blob)) % 32)
        t = [("a", [4], 200, 0), ("b", [8], rm.F32, len(hole))]
        malicious(corpus, f"gguf-unknown-type-hides-{label}.gguf", rm.gguf(t, hole + rm.f32(range(8))),
                  f"tensor of ggml type 200 (no such type) whose bytes hold a {label}",
                  "no reader can size an unknown type: its bytes are unaccounted for and carry a payload",
                  ["gguf.unknown_tensor_type"])
    t = [("a", [8], 1, 0), ("b", [8], rm.F32, 32)]  # type 1 = F16: 16 bytes, padded to 32
    benign(corpus, "gguf-f16-and-f32.gguf", rm.gguf(t, rm.f32(range(4)) + b"\x00" * 16 + rm.f32(range(8))),
           "F16 and F32 tensors, F16 followed by alignment padding", "known types, padding within alignment")


def polyglots(corpus):
    t, d = two_tensors()
    base = rm.gguf(t, d)
    malicious(corpus, "gguf-trailing-elf.gguf", base + ELF,
              "an ELF header after the last tensor", "another format's magic where no tensor is",
              ["gguf.trailing_bytes"])
    zipped = archives.zip_bytes([("payload.sh", CMD.encode())])
    hole = zipped + b"\x00" * ((-len(zipped)) % 32)
    t2 = [("a", [8], rm.F32, 0), ("b", [8], rm.F32, 32 + len(hole))]
    malicious(corpus, "gguf-gap-zip.gguf", rm.gguf(t2, rm.f32(range(8)) + hole + rm.f32(range(8))),
              "a zip archive in the gap between two tensors", "another format's magic where no tensor is",
              ["gguf.gap"])
    inner = rm.gguf(t, d)
    a = rm.f32(range(4))
    hdr = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
           "b": {"dtype": "F32", "shape": [4], "data_offsets": [16 + len(inner), 32 + len(inner)]}}
    malicious(corpus, "safetensors-gap-gguf.safetensors", rm.safetensors_raw(hdr, a + inner + a),
              "a whole GGUF file in the gap between two safetensors tensors",
              "another model format hidden where no tensor is", ["safetensors.offsets_gap"])
    malicious(corpus, "safetensors-trailing-elf.safetensors", rm.safetensors_file() + ELF,
              "an ELF header after the safetensors data", "trailing bytes with another format's magic",
              ["safetensors.trailing_bytes"])
    benign(corpus, "gguf-two-tensors.gguf", base, "two F32 tensors back to back, zero padding", "clean layout")


def build(corpus):
    nul_keys(corpus)
    long_names(corpus)
    unknown_types(corpus)
    polyglots(corpus)
