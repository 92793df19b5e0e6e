#!/usr/bin/env python3
"""A real-shaped model in two versions, for differential bundles (issue 18).

Writes, with the independent writers (the `gguf` and `safetensors`
packages, never lbom):

  OUT/gguf/model.gguf           a llama-shaped GGUF: chat template, tokenizer
                                vocabulary, tensors of about MB/2 MiB
  OUT/st/config.json            a safetensors folder of about MB/2 MiB
  OUT/st/tokenizer.json
  OUT/st/tokenizer_config.json  (its chat template)
  OUT/st/model.safetensors

Version 2 is version 1 with three edits, each in both models: the chat
template, the tokenizer (one token renamed), and one tensor (its first
4096 values). Everything else is byte-identical in content, so a
differential bundle of version 2 against version 1 should ship kilobytes
for the template and tokenizer and about one tensor's neighbourhood.

With --edit template, tokenizer or tensor, version 2 makes only that
edit (the default, all, makes the three).

usage: delta_model.py OUT --mb N --version 1|2 [--edit all|template|tokenizer|tensor]
"""

import argparse
import json
import os

import numpy as np
import gguf
from safetensors.numpy import save_file

TEMPLATE_V1 = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
TEMPLATE_V2 = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] | trim }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
VOCAB = 2048
TENSORS = 8


EDITS = ("all", "template", "tokenizer", "tensor")


def edited(version, edit, what):
    """Whether version `version` with `edit` changes `what`."""
    return version == 2 and edit in ("all", what)


def tokens(renamed):
    """The vocabulary; with `renamed`, token 100 has another name."""
    out = [f"tok{i}" for i in range(VOCAB)]
    out[0], out[1], out[2] = "<unk>", "<s>", "</s>"
    if renamed:
        out[100] = "tok100-renamed"
    return out


def tensors(total_bytes, changed):
    """TENSORS float32 tensors of total_bytes together, deterministic; with
    `changed`, the first 4096 values of tensor 3 scaled."""
    per = max(1024, total_bytes // TENSORS // 4 // 1024 * 1024)
    rng = np.random.default_rng(18)
    out = {}
    for i in range(TENSORS):
        t = rng.standard_normal(per, dtype=np.float32).reshape(per // 1024, 1024)
        if changed and i == 3:
            t = t.copy()
            t.reshape(-1)[:4096] *= 1.5
        out[f"blk.{i}.ffn_up.weight"] = t
    return out


def write_gguf(path, total_bytes, version, edit):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("delta-test")
    w.add_context_length(2048)
    w.add_embedding_length(1024)
    w.add_block_count(TENSORS)
    w.add_head_count(8)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens(edited(version, edit, "tokenizer")))
    w.add_chat_template(TEMPLATE_V2 if edited(version, edit, "template") else TEMPLATE_V1)
    for name, t in tensors(total_bytes, edited(version, edit, "tensor")).items():
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(folder, total_bytes, version, edit):
    os.makedirs(folder, exist_ok=True)
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 1024,
        "num_hidden_layers": TENSORS,
        "vocab_size": VOCAB,
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    vocab = {t: i for i, t in enumerate(tokens(edited(version, edit, "tokenizer")))}
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []}}
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    tc = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "chat_template": TEMPLATE_V2 if edited(version, edit, "template") else TEMPLATE_V1,
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
    save_file(
        tensors(total_bytes, edited(version, edit, "tensor")),
        os.path.join(folder, "model.safetensors"),
        metadata={"format": "pt"},
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=int, required=True)
    ap.add_argument("--version", type=int, choices=(1, 2), required=True)
    ap.add_argument("--edit", choices=EDITS, default="all")
    a = ap.parse_args()
    half = a.mb * (1 << 20) // 2
    os.makedirs(os.path.join(a.out, "gguf"), exist_ok=True)
    write_gguf(os.path.join(a.out, "gguf", "model.gguf"), half, a.version, a.edit)
    write_safetensors(os.path.join(a.out, "st"), half, a.version, a.edit)


if __name__ == "__main__":
    main()
