#!/usr/bin/env python3
"""Write a folder shaped like a real Hugging Face model repository, with
independent writers only (safetensors, numpy, protobuf, json, base64), for
tests/real_folder.rs (issue 16 item 1).

    real_hf_folder.py OUT_DIR            # the folder
    real_hf_folder.py OUT_DIR --extra    # plus side files a default policy refuses:
                                         # a raw pickle, a torch-style zip, custom code,
                                         # an unknown binary (one sub-folder each)

Every side file a Hub download of a Llama-, BERT- or GPT-style model
carries: model card with front matter, LICENSE, USE_POLICY.md,
.gitattributes, config.json, generation_config.json, tokenizer.json,
tokenizer_config.json, special_tokens_map.json, a SentencePiece
tokenizer.model (a ModelProto built with Google's protobuf from the
schema in sentencepiece_model.proto), a tiktoken file, vocab.txt,
vocab.json, merges.txt, chat_template.jinja, preprocessor_config.json,
and two safetensors shards with their index.
"""

import base64
import json
import os
import pickle
import sys
import zipfile

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from safetensors.numpy import save_file


def sentencepiece_model_class():
    """ModelProto from sentencepiece_model.proto (the fields lbom reads),
    defined at run time: protobuf writes the bytes, not this script."""
    f = descriptor_pb2.FileDescriptorProto()
    f.name = "lbom_test_sentencepiece_model.proto"
    f.package = "lbom_test_sentencepiece"
    f.syntax = "proto2"
    T = descriptor_pb2.FieldDescriptorProto
    piece = f.message_type.add()
    piece.name = "SentencePiece"
    for name, number, kind in [("piece", 1, T.TYPE_STRING), ("score", 2, T.TYPE_FLOAT),
                               ("type", 3, T.TYPE_INT32)]:
        fd = piece.field.add()
        fd.name, fd.number, fd.type, fd.label = name, number, kind, T.LABEL_OPTIONAL
    trainer = f.message_type.add()
    trainer.name = "TrainerSpec"
    for name, number, kind in [("model_prefix", 2, T.TYPE_STRING), ("vocab_size", 4, T.TYPE_INT32)]:
        fd = trainer.field.add()
        fd.name, fd.number, fd.type, fd.label = name, number, kind, T.LABEL_OPTIONAL
    normalizer = f.message_type.add()
    normalizer.name = "NormalizerSpec"
    fd = normalizer.field.add()
    fd.name, fd.number, fd.type, fd.label = "name", 1, T.TYPE_STRING, T.LABEL_OPTIONAL
    fd = normalizer.field.add()
    fd.name, fd.number, fd.type, fd.label = "add_dummy_prefix", 3, T.TYPE_BOOL, T.LABEL_OPTIONAL
    model = f.message_type.add()
    model.name = "ModelProto"
    for name, number, label, type_name in [
        ("pieces", 1, T.LABEL_REPEATED, ".lbom_test_sentencepiece.SentencePiece"),
        ("trainer_spec", 2, T.LABEL_OPTIONAL, ".lbom_test_sentencepiece.TrainerSpec"),
        ("normalizer_spec", 3, T.LABEL_OPTIONAL, ".lbom_test_sentencepiece.NormalizerSpec"),
    ]:
        fd = model.field.add()
        fd.name, fd.number, fd.label = name, number, label
        fd.type, fd.type_name = T.TYPE_MESSAGE, type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("lbom_test_sentencepiece.ModelProto"))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)


def folder(out):
    vocab = ["<unk>", "<s>", "</s>"] + [f"\u2581tok{i}" for i in range(61)]
    hidden, layers = 16, 2
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": hidden, "intermediate_size": 32, "num_attention_heads": 2,
        "num_hidden_layers": layers, "num_key_value_heads": 2, "vocab_size": len(vocab),
        "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "torch_dtype": "float32",
        "bos_token_id": 1, "eos_token_id": 2, "tie_word_embeddings": False,
    }
    write(f"{out}/config.json", json.dumps(config, indent=2) + "\n")
    write(f"{out}/generation_config.json",
          json.dumps({"bos_token_id": 1, "eos_token_id": 2, "do_sample": True,
                      "temperature": 0.6, "top_p": 0.9}, indent=2) + "\n")
    template = ("{{ bos_token }}{% for message in messages %}"
                "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token }}"
                "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")
    write(f"{out}/chat_template.jinja", template + "\n")
    write(f"{out}/tokenizer_config.json", json.dumps({
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "model_max_length": 256, "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": True, "clean_up_tokenization_spaces": False,
    }, indent=2) + "\n")
    write(f"{out}/special_tokens_map.json", json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, indent=2) + "\n")
    write(f"{out}/tokenizer.json", json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
        "normalizer": None, "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"},
        "post_processor": None, "decoder": None,
        "model": {"type": "BPE", "unk_token": "<unk>", "merges": [],
                  "vocab": {t: i for i, t in enumerate(vocab)}},
    }, ensure_ascii=False) + "\n")
    write(f"{out}/vocab.json", json.dumps({t: i for i, t in enumerate(vocab)},
                                          ensure_ascii=False) + "\n")
    write(f"{out}/merges.txt", "#version: 0.2\n\u0120 t\n\u0120t he\nh e\n")
    write(f"{out}/vocab.txt", "[PAD]\n[unused0]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n")
    ranks = b"".join(base64.b64encode(bytes([b])) + b" %d\n" % b for b in range(256))
    write(f"{out}/original/tokenizer.tiktoken", ranks)
    write(f"{out}/preprocessor_config.json",
          json.dumps({"do_resize": True, "size": {"height": 224, "width": 224}}) + "\n")

    model_proto = sentencepiece_model_class()()
    for i, text in enumerate(vocab):
        p = model_proto.pieces.add()
        p.piece, p.score = text, -float(i)
        p.type = 2 if text == "<unk>" else (3 if text in ("<s>", "</s>") else 1)
    model_proto.trainer_spec.model_prefix = "tokenizer"
    model_proto.trainer_spec.vocab_size = len(vocab)
    model_proto.normalizer_spec.name = "identity"
    model_proto.normalizer_spec.add_dummy_prefix = True
    write(f"{out}/tokenizer.model", model_proto.SerializeToString())

    write(f"{out}/README.md", "---\nlicense: apache-2.0\nlibrary_name: transformers\n"
          "pipeline_tag: text-generation\ntags:\n- llama\n---\n\n"
          "# Tiny test model\n\nRandom weights, shaped like a real release.\n")
    write(f"{out}/LICENSE", "                                 Apache License\n"
          "                           Version 2.0, January 2004\n"
          "                        http://www.apache.org/licenses/\n\n"
          "   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION\n")
    write(f"{out}/USE_POLICY.md", "# Acceptable use\n\nDo not use this model to harm.\n")
    write(f"{out}/.gitattributes",
          "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
          "*.model filter=lfs diff=lfs merge=lfs -text\n"
          "tokenizer.json filter=lfs diff=lfs merge=lfs -text\n")

    rng = np.random.default_rng(16)
    tensors = {"model.embed_tokens.weight": (len(vocab), hidden), "lm_head.weight": (len(vocab), hidden),
               "model.norm.weight": (hidden,)}
    for layer in range(layers):
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[f"model.layers.{layer}.self_attn.{name}.weight"] = (hidden, hidden)
        tensors[f"model.layers.{layer}.input_layernorm.weight"] = (hidden,)
    names = sorted(tensors)
    shards = [names[: len(names) // 2], names[len(names) // 2:]]
    weight_map, total = {}, 0
    for i, shard in enumerate(shards, 1):
        file = f"model-{i:05d}-of-{len(shards):05d}.safetensors"
        arrays = {n: rng.standard_normal(tensors[n]).astype(np.float32) for n in shard}
        save_file(arrays, f"{out}/{file}", metadata={"format": "pt"})
        for n, a in arrays.items():
            weight_map[n] = file
            total += a.nbytes
    write(f"{out}/model.safetensors.index.json", json.dumps(
        {"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2) + "\n")


def extras(out):
    """One folder per kind a default policy refuses."""
    write(f"{out}/pickle/pytorch_model.bin", pickle.dumps({"weight": [1.0, 2.0]}, protocol=2))
    os.makedirs(f"{out}/zip", exist_ok=True)
    with zipfile.ZipFile(f"{out}/zip/model.pt", "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"weight": 1}, protocol=2))
        z.writestr("archive/version", "3\n")
    write(f"{out}/code/modeling_tiny.py", "import os\n\nclass TinyModel:\n    pass\n")
    write(f"{out}/binary/weights.dat", bytes(range(256)) * 8)


def main():
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and sys.argv[2] != "--extra"):
        sys.exit(__doc__)
    out = sys.argv[1]
    folder(out)
    if len(sys.argv) == 3:
        extras(out + ".extra")


if __name__ == "__main__":
    main()
