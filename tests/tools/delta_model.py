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

usage: delta_model.py OUT --mb N --version 1|2
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


def tokens(version):
    out = [f"tok{i}" for i in range(VOCAB)]
    out[0], out[1], out[2] = "<unk>", "<s>", "</s>"
    if version == 2:
        out[100] = "tok100-renamed"
    return out


def tensors(total_bytes, version):
    """TENSORS float32 tensors of total_bytes together; deterministic."""
    per = max(1024, total_bytes // TENSORS // 4 // 1024 * 1024)
    rng = np.random.default_rng(18)
    out = {}
    for i in range(TENSORS):
        t = rng.standard_normal(per, dtype=np.float32).reshape(per // 1024, 1024)
        if version == 2 and i == 3:
            t = t.copy()
            t.reshape(-1)[:4096] *= 1.5
        out[f"blk.{i}.ffn_up.weight"] = t
    return out


def write_gguf(path, total_bytes, version):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("delta-test")
    w.add_context_length(2048)
    w.add_embedding_length(1024)
    w.add_block_count(TENSORS)
    w.add_head_count(8)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens(version))
    w.add_chat_template(TEMPLATE_V2 if version == 2 else TEMPLATE_V1)
    for name, t in tensors(total_bytes, version).items():
        w.add_tensor(name, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_safetensors(folder, total_bytes, version):
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
    vocab = {t: i for i, t in enumerate(tokens(version))}
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []}}
    with open(os.path.join(folder, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f)
    tc = {
        "bos_token": "<s>",
        "eos_token": "</s>",
        "chat_template": TEMPLATE_V2 if version == 2 else TEMPLATE_V1,
    }
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
    save_file(
        tensors(total_bytes, version),
        os.path.join(folder, "model.safetensors"),
        metadata={"format": "pt"},
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=int, required=True)
    ap.add_argument("--version", type=int, choices=(1, 2), required=True)
    a = ap.parse_args()
    half = a.mb * (1 << 20) // 2
    os.makedirs(os.path.join(a.out, "gguf"), exist_ok=True)
    write_gguf(os.path.join(a.out, "gguf", "model.gguf"), half, a.version)
    write_safetensors(os.path.join(a.out, "st"), half, a.version)


if __name__ == "__main__":
    main()
