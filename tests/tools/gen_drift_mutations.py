#!/usr/bin/env python3
"""Write the drift-gate mutation corpus: real-shaped base deliveries and every
single mutation of every input that belongs to a gated drift class, alone and
combined with renames and added or removed files. Written by the independent
`gguf` package (GGUFWriter), `safetensors` and Python's json, never by lbom.

Usage: gen_drift_mutations.py OUTDIR

Bases (each a delivery folder, packed as one bundle by the test):
  gguf     model.gguf (tokenizer with vocabulary, scores, types, merges,
           pre-tokenizer, special ids, add-BOS/EOS flags, normaliser keys and
           an embedded tokenizer.huggingface.json; a default chat template
           and the named templates tool_use and rag; licence name and link;
           base model; file type F16) and notes.txt
  hf       model/ (a Hugging Face folder: model.safetensors, config.json,
           generation_config.json, tokenizer.json, tokenizer_config.json with
           a chat_template, special_tokens_map.json, added_tokens.json,
           vocab.json, merges.txt, tokenizer.model, chat_template.jinja,
           chat_template.json, additional_chat_templates/tool_use.jinja,
           processor_config.json with a chat_template, tokenization_gate.py,
           modeling_gate.py, README.md with a front matter, LICENSE) and
           notes.txt
  hf_list  the same folder with tokenizer_config.json's chat_template as a
           list of named templates and no chat_template.jinja/.json

Every mutation is written in two variants:
  alone     the base with the mutation
  moved     the mutation, the model renamed (model.gguf -> renamed.gguf, or
            the folder model/ -> renamed/), an unrelated model added
            (extra.gguf: another architecture and tensor layout) and
            notes.txt removed

OUTDIR/cases.json lists each case: its base, folder, variant, and `must`,
the drift classes the mutation belongs to (empty for the converse cases:
changes outside every gated class, which must import unattended).
"""
import copy
import json
import os
import shutil
import sys

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

E, FF = 32, 64

# ---------------------------------------------------------------------------
# GGUF

TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "a", "b", "c", "d", "\u0120a", "\u0120b", "ab", "cd",
          "\u0120ab", "abcd", "<|tool|>", "<|end|>"]
HF_JSON = json.dumps({"version": "1.0", "normalizer": {"type": "NFC"},
                      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False}})
GGUF_BASE = {
    "arch": "llama",
    "name": "Gate Base",
    "version": "v1.0",
    "description": "drift gate base model",
    "license": "apache-2.0",
    "license_name": "Apache License 2.0",
    "license_link": "https://www.apache.org/licenses/LICENSE-2.0",
    "base_repo": "https://huggingface.co/example/gate-base",
    "base_name": "Gate Base",
    "base_org": "Example",
    "file_type": gguf.LlamaFileType.MOSTLY_F16,
    "quant_version": 2,
    "context_length": 2048,
    "tok_model": "gpt2",
    "tok_pre": "llama-bpe",
    "tokens": TOKENS,
    "scores": [-float(i) for i in range(len(TOKENS))],
    "types": [2, 3, 3, 3] + [1] * (len(TOKENS) - 6) + [4, 3],
    "merges": ["a b", "c d", "\u0120 a", "\u0120a b", "ab cd"],
    "bos": 1, "eos": 2, "unk": 0, "pad": 3,
    "add_bos": True, "add_eos": False,
    "add_space_prefix": False, "remove_extra_ws": True,
    "charsmap": bytes(range(64)),
    "hf_json": HF_JSON,
    "templates": [
        {"name": "default", "template": "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"},
        {"name": "tool_use", "template": "{% for m in messages %}<|tool|>{{ m['content'] | tojson }}<|end|>{% endfor %}"},
        {"name": "rag", "template": "{% for d in documents %}<doc>{{ d['text'] }}</doc>{% endfor %}{{ messages[-1]['content'] }}"},
    ],
    "matrix_type": T.F16,
    "one_matrix_type": None,
    "as_safetensors": False,
}


def write_gguf(path, p):
    rng = np.random.default_rng(0)  # the same weights in every variant
    wr = gguf.GGUFWriter(path, p["arch"])
    wr.add_name(p["name"])
    wr.add_version(p["version"])
    wr.add_description(p["description"])
    wr.add_license(p["license"])
    wr.add_license_name(p["license_name"])
    wr.add_license_link(p["license_link"])
    wr.add_base_model_count(1)
    wr.add_base_model_name(0, p["base_name"])
    wr.add_base_model_organization(0, p["base_org"])
    wr.add_base_model_repo_url(0, p["base_repo"])
    wr.add_file_type(p["file_type"])
    wr.add_quantization_version(p["quant_version"])
    wr.add_context_length(p["context_length"])
    wr.add_embedding_length(E)
    wr.add_block_count(1)
    wr.add_feed_forward_length(FF)
    wr.add_head_count(4)
    wr.add_head_count_kv(4)
    wr.add_layer_norm_rms_eps(1e-5)
    wr.add_tokenizer_model(p["tok_model"])
    wr.add_tokenizer_pre(p["tok_pre"])
    wr.add_token_list(p["tokens"])
    wr.add_token_scores(p["scores"])
    wr.add_token_types(p["types"])
    wr.add_token_merges(p["merges"])
    wr.add_bos_token_id(p["bos"])
    wr.add_eos_token_id(p["eos"])
    wr.add_unk_token_id(p["unk"])
    wr.add_pad_token_id(p["pad"])
    wr.add_add_bos_token(p["add_bos"])
    wr.add_add_eos_token(p["add_eos"])
    wr.add_add_space_prefix(p["add_space_prefix"])
    wr.add_remove_extra_whitespaces(p["remove_extra_ws"])
    wr.add_precompiled_charsmap(p["charsmap"])
    wr.add_string(gguf.Keys.Tokenizer.HF_JSON, p["hf_json"])
    wr.add_chat_template(p["templates"])

    def matrix(name, shape, qtype):
        x = (rng.standard_normal(shape) * 0.02).astype(np.float32)
        if qtype == T.F16:
            wr.add_tensor(name, x.astype(np.float16))
        else:
            wr.add_tensor(name, gguf.quants.quantize(x, qtype), raw_dtype=qtype)

    wr.add_tensor("blk.0.attn_norm.weight", np.ones(E, np.float32))
    matrix("blk.0.attn_q.weight", (E, E), p["one_matrix_type"] or p["matrix_type"])
    matrix("blk.0.ffn_up.weight", (FF, E), p["matrix_type"])
    wr.add_tensor("output_norm.weight", np.ones(E, np.float32))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file(progress=False)
    wr.close()


def write_as_safetensors(path):
    """The same tensors (names and values) converted to safetensors."""
    rng = np.random.default_rng(0)
    x = lambda shape: (rng.standard_normal(shape) * 0.02).astype(np.float32).astype(np.float16)
    tensors = {"blk.0.attn_norm.weight": np.ones(E, np.float32)}
    tensors["blk.0.attn_q.weight"] = x((E, E))
    tensors["blk.0.ffn_up.weight"] = x((FF, E))
    tensors["output_norm.weight"] = np.ones(E, np.float32)
    save_file(tensors, path, metadata={"format": "pt"})


def write_extra_gguf(path):
    """An unrelated model: another architecture and tensor layout."""
    wr = gguf.GGUFWriter(path, "gpt2")
    wr.add_name("Extra")
    wr.add_license("mit")
    wr.add_file_type(gguf.LlamaFileType.ALL_F32)
    wr.add_context_length(512)
    wr.add_embedding_length(8)
    wr.add_block_count(1)
    wr.add_feed_forward_length(16)
    wr.add_head_count(2)
    wr.add_layer_norm_eps(1e-5)
    wr.add_tensor("blk.0.attn_qkv.weight", np.full((24, 8), 0.5, np.float32))
    wr.add_tensor("blk.0.ffn_down.weight", np.full((8, 16), 0.25, np.float32))
    wr.write_header_to_file()
    wr.write_kv_data_to_file()
    wr.write_tensors_to_file(progress=False)
    wr.close()


def edit_template(p, name, new_text):
    p["templates"] = [dict(t, template=new_text) if t["name"] == name else t for t in p["templates"]]


def gguf_mutations():
    """(case, edit of the parameters, the classes the edit belongs to)."""
    def tokens_replaced(p):
        p["tokens"] = p["tokens"][:-1] + ["<|eot|>"]

    def token_added(p):
        p["tokens"] = p["tokens"] + ["\u0120cd"]
        p["scores"] = p["scores"] + [-99.0]
        p["types"] = p["types"] + [1]

    def score(p):
        p["scores"] = [s - 1.0 if i == 5 else s for i, s in enumerate(p["scores"])]

    def ttype(p):
        p["types"] = [4 if i == 13 else t for i, t in enumerate(p["types"])]

    def merge_replaced(p):
        p["merges"] = p["merges"][:-1] + ["ab c"]

    def merges_swapped(p):
        m = list(p["merges"])
        m[0], m[1] = m[1], m[0]
        p["merges"] = m

    def charsmap(p):
        p["charsmap"] = bytes([0xFF]) + p["charsmap"][1:]

    def requant_stale(p):
        p["matrix_type"] = T.Q8_0  # general.file_type still says F16

    def one_retyped(p):
        p["one_matrix_type"] = T.Q8_0

    def set_(key, value):
        return lambda p: p.__setitem__(key, value)

    return [
        ("tok_vocab", tokens_replaced, ["tokenizer"]),
        ("tok_token_added", token_added, ["tokenizer"]),
        ("tok_scores", score, ["tokenizer"]),
        ("tok_types", ttype, ["tokenizer"]),
        ("tok_merge", merge_replaced, ["tokenizer"]),
        ("tok_merge_order", merges_swapped, ["tokenizer"]),
        ("tok_model", set_("tok_model", "llama"), ["tokenizer"]),
        ("tok_pre", set_("tok_pre", "qwen2"), ["tokenizer"]),
        ("tok_bos_id", set_("bos", 14), ["tokenizer"]),
        ("tok_eos_id", set_("eos", 15), ["tokenizer"]),
        ("tok_unk_id", set_("unk", 3), ["tokenizer"]),
        ("tok_pad_id", set_("pad", 0), ["tokenizer"]),
        ("tok_add_bos", set_("add_bos", False), ["tokenizer"]),
        ("tok_add_eos", set_("add_eos", True), ["tokenizer"]),
        ("tok_space_prefix", set_("add_space_prefix", True), ["tokenizer"]),
        ("tok_extra_ws", set_("remove_extra_ws", False), ["tokenizer"]),
        ("tok_charsmap", charsmap, ["tokenizer"]),
        ("tok_hf_json", set_("hf_json", HF_JSON.replace("NFC", "NFKC")), ["tokenizer"]),
        ("tpl_default", lambda p: edit_template(p, "default", "{{ messages[0]['content'] }}"), ["chat_template"]),
        ("tpl_tool_use", lambda p: edit_template(p, "tool_use", "{{ tools | tojson }}"), ["chat_template"]),
        ("tpl_rag", lambda p: edit_template(p, "rag", "{{ documents | length }}"), ["chat_template"]),
        ("tpl_named_added", lambda p: p.__setitem__("templates", p["templates"] + [{"name": "summarize", "template": "{{ 1 }}"}]), ["chat_template"]),
        ("tpl_named_removed", lambda p: p.__setitem__("templates", [t for t in p["templates"] if t["name"] != "rag"]), ["chat_template"]),
        ("quant_requant_stale_label", requant_stale, ["quantization"]),
        ("quant_one_tensor_retyped", one_retyped, ["quantization"]),
        ("quant_label", set_("file_type", gguf.LlamaFileType.MOSTLY_BF16), ["quantization"]),
        ("quant_version", set_("quant_version", 3), ["quantization"]),
        ("lic_id", set_("license", "mit"), ["licence"]),
        ("lic_name", set_("license_name", "Apache License 2.0 with exceptions"), ["licence"]),
        ("lic_link", set_("license_link", "https://example.org/other-terms"), ["licence"]),
        ("base_repo", set_("base_repo", "https://huggingface.co/example/other-base"), ["base_model"]),
        ("base_name", set_("base_name", "Other Base"), ["base_model"]),
        ("base_org", set_("base_org", "Other"), ["base_model"]),
        ("arch", set_("arch", "qwen2"), ["architecture"]),
        ("format_safetensors", set_("as_safetensors", True), ["format"]),
        # Outside every gated class: must import unattended.
        ("free_description", set_("description", "drift gate base model, reworded"), []),
        ("free_version", set_("version", "v1.1"), []),
        ("free_context_length", set_("context_length", 4096), []),
    ]


# ---------------------------------------------------------------------------
# Hugging Face folder

VOCAB = {t: i for i, t in enumerate(TOKENS)}
TOKENIZER_JSON = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [
        {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
         "normalized": False, "special": True}
        for i, t in enumerate(TOKENS) if t.startswith("<")
    ],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    "post_processor": {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
    },
    "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
    "model": {
        "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
        "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
        "vocab": VOCAB,
        "merges": [m.split(" ") for m in GGUF_BASE["merges"]],
    },
}
DEFAULT_TEMPLATE = GGUF_BASE["templates"][0]["template"]
TOOL_TEMPLATE = GGUF_BASE["templates"][1]["template"]
TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "added_tokens_decoder": {
        str(i): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                 "single_word": False, "special": True}
        for i, t in enumerate(TOKENS) if t.startswith("<")
    },
    "bos_token": "<s>",
    "chat_template": DEFAULT_TEMPLATE,
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "model_max_length": 2048,
    "pad_token": "<pad>",
    "tokenizer_class": "PreTrainedTokenizerFast",
    "unk_token": "<unk>",
}
SPECIAL_TOKENS_MAP = {
    "bos_token": {"content": "<s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
    "eos_token": {"content": "</s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
    "pad_token": "<pad>",
    "unk_token": "<unk>",
}
CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 8,
    "intermediate_size": 16,
    "max_position_embeddings": 2048,
    "model_type": "llama",
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "transformers_version": "4.46.0",
    "vocab_size": len(TOKENS),
}
README = """---
license: other
license_name: gate-licence
license_link: LICENSE
base_model:
- example/gate-base
library_name: transformers
tags:
- text-generation
---
# Gate model

A tiny model for the drift-gate tests.
"""
HF_BASE = {
    "config": CONFIG,
    "generation_config": {"bos_token_id": 1, "eos_token_id": 2, "temperature": 0.7},
    "tokenizer_json": TOKENIZER_JSON,
    "tokenizer_config": TOKENIZER_CONFIG,
    "special_tokens_map": SPECIAL_TOKENS_MAP,
    "added_tokens": {"<|tool|>": 14, "<|end|>": 15},
    "vocab_json": VOCAB,
    "merges_txt": "#version: 0.2\n" + "\n".join(GGUF_BASE["merges"]) + "\n",
    "tokenizer_model": bytes(range(256)) * 4,
    "jinja": DEFAULT_TEMPLATE,
    "template_json": {"chat_template": DEFAULT_TEMPLATE},
    "named": {"tool_use": TOOL_TEMPLATE},
    "processor_config": {"chat_template": TOOL_TEMPLATE, "image_size": 224,
                         "processor_class": "GateProcessor"},
    "tokenization_py": "class GateTokenizer:\n    split = ' '\n",
    "modeling_py": "class GateModel:\n    layers = 1\n",
    "readme": README,
    "licence": "Gate licence\n\nYou may use this model for tests.\n",
    "dtype": np.float16,
    "indent": 2,
}


def write_hf(folder, p):
    os.makedirs(folder)
    rng = np.random.default_rng(1)
    n = len(TOKENS)
    tensors = {
        "model.embed_tokens.weight": (rng.standard_normal((n, 8)) * 0.02).astype(p["dtype"]),
        "model.layers.0.self_attn.q_proj.weight": (rng.standard_normal((8, 8)) * 0.02).astype(p["dtype"]),
        "model.norm.weight": np.ones(8, np.float32),
    }
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})

    def dump(name, value, indent=2):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(value, f, indent=indent, ensure_ascii=False)
            f.write("\n")

    def text(name, value):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(value)

    # The files lbom parses (and compares by meaning, not by bytes) follow
    # the `indent` parameter; the others keep theirs.
    dump("config.json", p["config"], p["indent"])
    dump("generation_config.json", p["generation_config"], p["indent"])
    if p["tokenizer_json"] is not None:
        dump("tokenizer.json", p["tokenizer_json"])
    dump("tokenizer_config.json", p["tokenizer_config"], p["indent"])
    dump("special_tokens_map.json", p["special_tokens_map"])
    dump("added_tokens.json", p["added_tokens"])
    dump("vocab.json", p["vocab_json"])
    text("merges.txt", p["merges_txt"])
    with open(os.path.join(folder, "tokenizer.model"), "wb") as f:
        f.write(p["tokenizer_model"])
    if p["jinja"] is not None:
        text("chat_template.jinja", p["jinja"])
    if p["template_json"] is not None:
        dump("chat_template.json", p["template_json"])
    if p["named"]:
        os.makedirs(os.path.join(folder, "additional_chat_templates"))
        for name, body in p["named"].items():
            text(os.path.join("additional_chat_templates", f"{name}.jinja"), body)
    dump("processor_config.json", p["processor_config"], p["indent"])
    text("tokenization_gate.py", p["tokenization_py"])
    text("modeling_gate.py", p["modeling_py"])
    text("README.md", p["readme"])
    text("LICENSE", p["licence"])


def hf_list_base():
    p = copy.deepcopy(HF_BASE)
    p["jinja"] = None
    p["template_json"] = None
    p["named"] = {}
    p["tokenizer_config"]["chat_template"] = [
        {"name": "default", "template": DEFAULT_TEMPLATE},
        {"name": "tool_use", "template": TOOL_TEMPLATE},
    ]
    return p


def deep_set(key_path, value):
    def edit(p):
        node = p
        for k in key_path[:-1]:
            node = node[k]
        node[key_path[-1]] = value
    return edit


def hf_mutations():
    def vocab_renamed(p):
        v = dict(p["tokenizer_json"]["model"]["vocab"])
        del v["\u0120ab"]
        v["\u0120ba"] = 12
        p["tokenizer_json"]["model"]["vocab"] = v

    def merge_changed(p):
        p["tokenizer_json"]["model"]["merges"][-1] = ["ab", "c"]

    def added_special_flag(p):
        p["tokenizer_json"]["added_tokens"][-1]["special"] = False

    def added_decoder_flag(p):
        p["tokenizer_config"]["added_tokens_decoder"]["15"]["special"] = False

    def bos_in_post(p):
        p["tokenizer_json"]["post_processor"]["single"] = p["tokenizer_json"]["post_processor"]["single"][1:]

    def no_tokenizer_json(p):
        p["tokenizer_json"] = None

    def flip_byte(p):
        b = bytearray(p["tokenizer_model"])
        b[100] ^= 0x01
        p["tokenizer_model"] = bytes(b)

    def named_added(p):
        p["named"] = dict(p["named"], rag="{% for d in documents %}{{ d }}{% endfor %}")

    def card(old, new):
        return lambda p: p.__setitem__("readme", p["readme"].replace(old, new))

    def requant(p):
        p["dtype"] = np.float32  # config.json still says float16

    def list_entry(name, text):
        def edit(p):
            p["tokenizer_config"]["chat_template"] = [
                dict(t, template=text) if t["name"] == name else t
                for t in p["tokenizer_config"]["chat_template"]
            ]
        return edit

    return [
        ("hf", "tok_json_vocab", vocab_renamed, ["tokenizer"]),
        ("hf", "tok_json_merges", merge_changed, ["tokenizer"]),
        ("hf", "tok_json_normalizer", deep_set(["tokenizer_json", "normalizer", "normalizers", 0, "type"], "NFKC"), ["tokenizer"]),
        ("hf", "tok_json_pre_tokenizer", deep_set(["tokenizer_json", "pre_tokenizer", "add_prefix_space"], True), ["tokenizer"]),
        ("hf", "tok_json_added_tokens", added_special_flag, ["tokenizer"]),
        ("hf", "tok_json_post_processor", bos_in_post, ["tokenizer"]),
        ("hf", "tok_json_removed", no_tokenizer_json, ["tokenizer"]),
        ("hf", "tok_cfg_bos", deep_set(["tokenizer_config", "bos_token"], "<|tool|>"), ["tokenizer"]),
        ("hf", "tok_cfg_add_bos", deep_set(["tokenizer_config", "add_bos_token"], False), ["tokenizer"]),
        ("hf", "tok_cfg_added_decoder", added_decoder_flag, ["tokenizer"]),
        ("hf", "tok_cfg_max_length", deep_set(["tokenizer_config", "model_max_length"], 1024), ["tokenizer"]),
        ("hf", "tok_special_map", deep_set(["special_tokens_map", "eos_token", "content"], "<|end|>"), ["tokenizer"]),
        ("hf", "tok_added_tokens_json", deep_set(["added_tokens", "<|end|>"], 16), ["tokenizer"]),
        ("hf", "tok_vocab_json", deep_set(["vocab_json", "ab"], 99), ["tokenizer"]),
        ("hf", "tok_merges_txt", lambda p: p.__setitem__("merges_txt", p["merges_txt"].replace("c d", "d c")), ["tokenizer"]),
        ("hf", "tok_sentencepiece_model", flip_byte, ["tokenizer"]),
        ("hf", "tpl_jinja", lambda p: p.__setitem__("jinja", "{{ messages | tojson }}"), ["chat_template"]),
        ("hf", "tpl_jinja_removed", lambda p: p.__setitem__("jinja", None), ["chat_template"]),
        ("hf", "tpl_json", deep_set(["template_json", "chat_template"], "{{ 'json' }}"), ["chat_template"]),
        ("hf", "tpl_tokenizer_config", deep_set(["tokenizer_config", "chat_template"], "{{ 'cfg' }}"), ["chat_template"]),
        ("hf", "tpl_named", lambda p: p.__setitem__("named", {"tool_use": "{{ tools }}"}), ["chat_template"]),
        ("hf", "tpl_named_added", named_added, ["chat_template"]),
        ("hf", "tpl_processor_config", deep_set(["processor_config", "chat_template"], "{{ images }}"), ["chat_template"]),
        ("hf", "tok_code", lambda p: p.__setitem__("tokenization_py", p["tokenization_py"].replace("' '", "'_'")), ["tokenizer"]),
        ("hf", "arch_code", lambda p: p.__setitem__("modeling_py", p["modeling_py"].replace("1", "2")), ["architecture"]),
        ("hf_list", "tpl_list_default", list_entry("default", "{{ 'default' }}"), ["chat_template"]),
        ("hf_list", "tpl_list_tool_use", list_entry("tool_use", "{{ 'tool' }}"), ["chat_template"]),
        ("hf", "lic_card", card("license: other", "license: mit"), ["licence"]),
        ("hf", "lic_card_name", card("license_name: gate-licence", "license_name: gate-licence-2"), ["licence"]),
        ("hf", "lic_card_link", card("license_link: LICENSE", "license_link: https://example.org/terms"), ["licence"]),
        ("hf", "lic_file", lambda p: p.__setitem__("licence", p["licence"].replace("tests", "anything")), ["licence"]),
        ("hf", "base_card", card("- example/gate-base", "- example/other-base"), ["base_model"]),
        ("hf", "base_card_added", card("- example/gate-base", "- example/gate-base\n- example/second-base"), ["base_model"]),
        ("hf", "arch_class", deep_set(["config", "architectures"], ["MistralForCausalLM"]), ["architecture"]),
        ("hf", "arch_model_type", deep_set(["config", "model_type"], "mistral"), ["architecture"]),
        ("hf", "quant_requant_stale_dtype", requant, ["quantization"]),
        ("hf", "quant_dtype_label", deep_set(["config", "torch_dtype"], "bfloat16"), ["quantization"]),
        ("hf", "quant_config", deep_set(["config", "quantization_config"], {"quant_method": "bitsandbytes", "load_in_8bit": True}), ["quantization"]),
        # Outside every gated class: must import unattended.
        ("hf", "free_readme_body", card("A tiny model", "A very tiny model"), []),
        ("hf", "free_card_tags", card("- text-generation", "- text-generation\n- tiny"), []),
        ("hf", "free_config_rope", deep_set(["config", "rope_theta"], 500000.0), []),
        ("hf", "free_generation_config", deep_set(["generation_config", "temperature"], 0.6), []),
        ("hf", "free_processor_image_size", deep_set(["processor_config", "image_size"], 336), []),
        ("hf", "free_json_reformatted", lambda p: p.__setitem__("indent", 4), []),
    ]


# ---------------------------------------------------------------------------

def write_delivery(root, base, params, variant):
    os.makedirs(root)
    renamed = variant == "moved"
    if base == "gguf" and params["as_safetensors"]:
        write_as_safetensors(os.path.join(root, "renamed.safetensors" if renamed else "model.safetensors"))
    elif base == "gguf":
        write_gguf(os.path.join(root, "renamed.gguf" if renamed else "model.gguf"), params)
    else:
        write_hf(os.path.join(root, "renamed" if renamed else "model"), params)
    if not renamed:
        with open(os.path.join(root, "notes.txt"), "w") as f:
            f.write("release notes\n")
    if renamed:
        write_extra_gguf(os.path.join(root, "extra.gguf"))


def main():
    out = sys.argv[1]
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    bases = {"gguf": GGUF_BASE, "hf": HF_BASE, "hf_list": hf_list_base()}
    for name, params in bases.items():
        write_delivery(os.path.join(out, "base", name), name, params, "base")
    cases = []
    mutations = [("gguf", c, e, m) for c, e, m in gguf_mutations()] + hf_mutations()
    for base, case, edit, must in mutations:
        params = copy.deepcopy(bases[base])
        edit(params)
        for variant in ("alone", "moved"):
            folder = f"{base}-{case}-{variant}"
            write_delivery(os.path.join(out, folder), base, params, variant)
            cases.append({"case": f"{base}/{case}", "base": base, "folder": folder,
                          "variant": variant, "must": must})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} drift mutation cases to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
