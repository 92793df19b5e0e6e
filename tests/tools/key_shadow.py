#!/usr/bin/env python3
"""Write models whose keys hide behind one another, and OUTDIR/index.json.

Usage: key_shadow.py OUTDIR

The class (docs/findings.md, "Key shadowing"): a key repeated, a key holding
a NUL, or two keys that look the same after Unicode normalisation. For every
GGUF key class (general.*, tokenizer.*, chat templates, architecture keys),
every variant, both value orders (benign first, hostile first), GGUF v2 and
v3, little- and big-endian. Version 3 files are written by gguf-py's
GGUFWriter; v2 files and exact repeats (GGUFWriter keeps one value per key)
by the small raw writer below, per ggml docs/gguf.md.

What the loader reads is computed here, independently of lbom:
- GGUF: llama.cpp's ggml/src/gguf.cpp. `gguf_find_key` returns the first
  key whose C string (bytes up to the first NUL) strcmp-equals the name
  asked for; `gguf_init_from_reader` refuses a file with two byte-equal
  keys. `loader_value` below is that rule.
- JSON (safetensors headers, Hugging Face side files): Python's
  json.loads, where a repeated key keeps its last value.

index.json: {"gguf": [case...], "json": [case...]}; a case is
  {"path": file or folder (relative to OUTDIR),
   "require": [finding codes that must be reported],
   "forbid": [finding codes that must not be],
   "metadata": {key: value lbom must describe},
   "facts": {report field: value},
   "reference": file with only the keys the loader reads (same tokenizer
                digest expected), or null}
"""
import hashlib
import json
import os
import struct
import sys

import gguf

OUT = sys.argv[1]
INDEX = {"gguf": [], "json": []}

BENIGN_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"
HOSTILE_TEMPLATE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"

# (key, value type, benign value, hostile value); one per key class.
STR, U32, ARR = gguf.GGUFValueType.STRING, gguf.GGUFValueType.UINT32, gguf.GGUFValueType.ARRAY
KEYS = [
    ("general.name", STR, "benign-model", "hostile-model"),
    ("general.license", STR, "apache-2.0", "proprietary-hostile"),
    ("tokenizer.ggml.model", STR, "llama", "gpt2"),
    ("tokenizer.ggml.tokens", ARR, ["<s>", "a", "b"], ["<s>", "x", "y"]),
    ("tokenizer.chat_template", STR, BENIGN_TEMPLATE, HOSTILE_TEMPLATE),
    ("tokenizer.chat_template.tool_use", STR, BENIGN_TEMPLATE, HOSTILE_TEMPLATE),
    ("llama.context_length", U32, 4096, 1),
]


def fullwidth_first_letter(key):
    """The key with its first letter in fullwidth form (NFKC folds it back)."""
    return chr(ord(key[0]) - 0x61 + 0xFF41) + key[1:]


def zero_width(key):
    """The key with a ZERO WIDTH SPACE after its first dot."""
    return key.replace(".", ".\u200b", 1)


# Each variant: (name, [(key bytes, which value)], codes required, codes
# forbidden, keys that must be described with which value).
# "which" is 0 for the first value of the order, 1 for the second.
def variants(key):
    k = key.encode()
    nul = k + b"\0decoy"
    return [
        ("exact", [(k, 0), (k, 1)], ["gguf.duplicate_key"], [], {key: 0}),
        ("nul_first", [(nul, 0), (k, 1)], ["key.nul", "key.shadowed"], [], {key: 0}),
        ("nul_last", [(k, 0), (nul, 1)], ["key.nul", "key.shadowed"], [], {key: 0}),
        ("nul_only", [(nul, 0)], ["key.nul"], ["key.shadowed"], {key: 0}),
        ("fullwidth", [(k, 0), (fullwidth_first_letter(key).encode(), 1)],
         ["key.confusable"], ["key.shadowed"], {key: 0, fullwidth_first_letter(key): 1}),
        ("fullwidth_first", [(fullwidth_first_letter(key).encode(), 0), (k, 1)],
         ["key.confusable"], ["key.shadowed"], {key: 1}),
        ("zero_width", [(k, 0), (zero_width(key).encode(), 1)],
         ["key.confusable"], ["key.shadowed"], {key: 0}),
        ("nfc_nfd", [((key + ".caf\u00e9").encode(), 0), ((key + ".cafe\u0301").encode(), 1)],
         ["key.confusable"], ["key.shadowed"], {key + ".caf\u00e9": 0, key + ".cafe\u0301": 1}),
        # No loader folds case: a case variant is another key, no finding.
        ("case", [(k, 0), (key.upper().encode(), 1)],
         [], ["key.confusable", "key.shadowed", "key.nul", "gguf.duplicate_key"], {key: 0}),
    ]


def loader_value(kvs, name):
    """gguf_find_key: the first entry whose C string equals `name`."""
    for raw, value in kvs:
        if raw.split(b"\0", 1)[0] == name.encode():
            return value
    return None


# ------------------------------------------------------------ raw GGUF writer
class Raw:
    """GGUF v2/v3 in either byte order (docs/gguf.md "File Structure")."""

    def __init__(self, big):
        self.e = ">" if big else "<"

    def s(self, b):
        b = b.encode() if isinstance(b, str) else b
        return struct.pack(self.e + "Q", len(b)) + b

    def value(self, vtype, v):
        if vtype == STR:
            return struct.pack(self.e + "I", int(STR)) + self.s(v)
        if vtype == U32:
            return struct.pack(self.e + "II", int(U32), v)
        return (struct.pack(self.e + "IIQ", int(ARR), int(STR), len(v))
                + b"".join(self.s(x) for x in v))

    def file(self, version, kvs):
        """kvs: [(key bytes, vtype, value)]; no tensors."""
        body = b"".join(self.s(k) + self.value(t, v) for k, t, v in kvs)
        return b"GGUF" + struct.pack(self.e + "IQQ", version, 0, len(kvs)) + body


def write_writer(path, big, kvs):
    """Version 3 through gguf-py's GGUFWriter (one value per distinct key)."""
    endian = gguf.GGUFEndian.BIG if big else gguf.GGUFEndian.LITTLE
    w = gguf.GGUFWriter(path, arch=None, endianess=endian)
    for raw, vtype, value in kvs:
        key = raw.decode()
        if vtype == ARR:
            w.add_array(key, value)
        else:
            w.add_key_value(key, value, vtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gguf_cases():
    os.makedirs(os.path.join(OUT, "gguf"), exist_ok=True)
    for version, big in ((2, False), (2, True), (3, False), (3, True)):
        layout = f"v{version}-{'be' if big else 'le'}"
        for key, vtype, benign, hostile in KEYS:
            for order, values in (("bh", (benign, hostile)), ("hb", (hostile, benign))):
                for name, entries, require, forbid, described in variants(key):
                    kvs = [(raw, vtype, values[which]) for raw, which in entries]
                    rel = f"gguf/{layout}__{key}__{name}__{order}.gguf"
                    path = os.path.join(OUT, rel)
                    raw_bytes = version == 2 or len({k for k, _, _ in kvs}) < len(kvs)
                    if raw_bytes:
                        with open(path, "wb") as f:
                            f.write(Raw(big).file(version, kvs))
                    else:
                        write_writer(path, big, kvs)
                    expect = {k: values[which] for k, which in described.items()}
                    # The rule above, computed from the entries, must agree.
                    if key in expect:
                        assert loader_value([(r, v) for r, _, v in kvs], key) == expect[key], rel
                    facts = {}
                    template_values = [v for _, _, v in kvs]
                    if key == "tokenizer.chat_template" and key in expect:
                        facts["chat_template_sha256"] = hashlib.sha256(
                            expect[key].encode()).hexdigest()
                    if "chat_template" in key and HOSTILE_TEMPLATE in template_values:
                        # Every template-like value is scanned, read or not.
                        require = require + ["template.code_execution"]
                    reference = None
                    if key.startswith("tokenizer.ggml.") and key in expect:
                        reference = rel.replace(".gguf", ".ref.gguf")
                        write_writer(os.path.join(OUT, reference), False,
                                     [(key.encode(), vtype, expect[key])])
                    INDEX["gguf"].append({"path": rel, "require": require, "forbid": forbid,
                                          "metadata": expect, "facts": facts,
                                          "reference": reference})


# ------------------------------------------------------------------ JSON
def st_file(header_text, data):
    h = header_text.encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data


def tensor(dtype, shape, begin, end):
    return '{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}' % (dtype, json.dumps(shape), begin, end)


def json_case(rel, files, require, forbid, metadata=None, facts=None, tensors=None):
    folder = os.path.join(OUT, rel)
    os.makedirs(folder, exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    INDEX["json"].append({"path": rel, "require": require, "forbid": forbid,
                          "metadata": metadata or {}, "facts": facts or {},
                          "tensors": tensors or {}, "reference": None})


def last_wins(text):
    """What Python's json reads."""
    return json.loads(text)


def json_cases():
    data = struct.pack("<4f", 1, 2, 3, 4)
    # safetensors: a tensor name twice over the same bytes, dtype changed.
    for order in (("F32", "I32"), ("I32", "F32")):
        header = '{"w":%s,"w":%s}' % (tensor(order[0], [4], 0, 16), tensor(order[1], [4], 0, 16))
        want = last_wins(header)["w"]["dtype"]
        json_case(f"json/st-tensor-twice-{order[0]}-{order[1]}",
                  {"model.safetensors": st_file(header, data)},
                  ["safetensors.duplicate_key"], [], tensors={"w": want})
    # __metadata__ entries: every key variant.
    base = tensor("F32", [4], 0, 16)
    for name, first, second, require, forbid in (
        ("exact", "format", "format", ["safetensors.duplicate_key"], []),
        ("nul", "format\u0000x", "format", ["key.nul", "key.confusable"], []),
        ("fullwidth", "format", "\uff46ormat", ["key.confusable"], []),
        ("zero_width", "format", "for\u200bmat", ["key.confusable"], []),
        ("case", "format", "FORMAT", [], ["key.confusable", "key.nul", "safetensors.duplicate_key"]),
    ):
        header = '{"__metadata__":{%s:"pt",%s:"hostile"},"w":%s}' % (
            json.dumps(first), json.dumps(second), base)
        want = last_wins(header)["__metadata__"]
        json_case(f"json/st-metadata-{name}", {"model.safetensors": st_file(header, data)},
                  require, forbid, metadata=want)
    # Tensor names: NUL and look-alikes are other tensors to the loader.
    header = '{"w":%s,"w\\u0000x":%s}' % (tensor("F32", [2], 0, 8), tensor("F32", [2], 8, 16))
    json_case("json/st-tensor-nul", {"model.safetensors": st_file(header, data)},
              ["key.nul", "key.confusable"], [])
    header = '{"w":%s,"\uff57":%s}' % (tensor("F32", [2], 0, 8), tensor("F32", [2], 8, 16))
    json_case("json/st-tensor-fullwidth", {"model.safetensors": st_file(header, data)},
              ["key.confusable"], [])

    # Hugging Face side files: config.json values lbom reads, templates.
    model = st_file('{"w":%s}' % base, data)
    for order in ((2048, 8), (8, 2048)):
        text = '{"architectures":["LlamaForCausalLM"],"max_position_embeddings":%d,"max_position_embeddings":%d}' % order
        json_case(f"json/hf-config-twice-{order[0]}",
                  {"model.safetensors": model, "config.json": text},
                  ["hf.duplicate_key"], [],
                  facts={"context_length": last_wins(text)["max_position_embeddings"]})
    for order, (first, second) in (("bh", (BENIGN_TEMPLATE, HOSTILE_TEMPLATE)),
                                   ("hb", (HOSTILE_TEMPLATE, BENIGN_TEMPLATE))):
        text = '{"chat_template":%s,"chat_template":%s}' % (json.dumps(first), json.dumps(second))
        read = last_wins(text)["chat_template"]
        json_case(f"json/hf-template-twice-{order}",
                  {"model.safetensors": model, "tokenizer_config.json": text},
                  ["hf.duplicate_key", "template.code_execution"], [],
                  facts={"chat_template_sha256": hashlib.sha256(read.encode()).hexdigest()})
        text = '{"chat_template":%s,"\uff43hat_template":%s}' % (json.dumps(first), json.dumps(second))
        read = last_wins(text)["chat_template"]
        json_case(f"json/hf-template-lookalike-{order}",
                  {"model.safetensors": model, "tokenizer_config.json": text},
                  ["key.confusable", "template.code_execution"], [],
                  facts={"chat_template_sha256": hashlib.sha256(read.encode()).hexdigest()})
    # Files lbom only hashes: their keys are checked all the same.
    for name, text in (
        ("tokenizer.json", '{"model":{"type":"BPE","vocab":{"a":0,"b":1,"a":2}}}'),
        ("special_tokens_map.json", '{"eos_token":"</s>","eos_token":"<|im_end|>"}'),
        ("generation_config.json", '{"eos_token_id":2,"eos_token_id":7}'),
        ("added_tokens.json", '{"<x>":5,"<x>":6}'),
    ):
        json_case(f"json/hf-{name.replace('.json', '')}-twice",
                  {"model.safetensors": model, name: text}, ["hf.duplicate_key"], [])
    json_case("json/hf-special-tokens-nul",
              {"model.safetensors": model,
               "special_tokens_map.json": '{"eos_token":"</s>","eos_token\\u0000x":"<x>"}'},
              ["key.nul", "key.confusable"], [])


def main():
    gguf_cases()
    json_cases()
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(INDEX, f, indent=1)
    print(f"{len(INDEX['gguf'])} GGUF and {len(INDEX['json'])} JSON cases in {OUT}")


main()
