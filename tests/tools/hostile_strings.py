#!/usr/bin/env python3
"""Write model files that carry hostile strings in every field a model can.

Usage: hostile_strings.py OUTDIR FIELDS.json

FIELDS.json maps a field name to the string to put there (tests/escaping.rs
builds it from its one table of fields). Written with the independent
writers: gguf-py's GGUFWriter, the safetensors package, json.dump. File
names come from the fields too (minus '/' and NUL, which no file name can
hold). Writes OUTDIR/<gguf_file_name>.gguf and the folder
OUTDIR/hf/ (model.safetensors and its side files).
"""
import json
import os
import sys

import gguf
import numpy as np
from safetensors.numpy import save_file

OUT, FIELDS = sys.argv[1], json.load(open(sys.argv[2], encoding="utf-8"))


def file_name(s):
    return s.replace("/", "_").replace("\0", "_")


def gguf_model():
    path = os.path.join(OUT, file_name(FIELDS["gguf_file_name"]) + ".gguf")
    w = gguf.GGUFWriter(path, FIELDS["gguf_architecture"])
    w.add_name(FIELDS["gguf_general_name"])
    w.add_license(FIELDS["gguf_license"])
    w.add_string("general.base_model.0.name", FIELDS["gguf_base_model"])
    w.add_string(FIELDS["gguf_metadata_key"], "value of a hostile key")
    w.add_string("general.description", FIELDS["gguf_metadata_value"])
    w.add_string("general.size_label", FIELDS["gguf_size_label"])
    w.add_chat_template(FIELDS["gguf_chat_template"])
    w.add_array("tokenizer.ggml.tokens", ["<s>", FIELDS["gguf_token"]])
    w.add_tensor(FIELDS["gguf_tensor_name"], np.zeros((4, 8), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hf_folder():
    folder = os.path.join(OUT, "hf")
    os.makedirs(folder, exist_ok=True)
    save_file(
        {FIELDS["st_tensor_name"]: np.zeros((2, 4), dtype=np.float32)},
        os.path.join(folder, "model.safetensors"),
        metadata={"format": FIELDS["st_format"], FIELDS["st_metadata_key"]: FIELDS["st_metadata_value"]},
    )

    def dump(name, value):
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            json.dump(value, f)

    dump("config.json", {
        "architectures": [FIELDS["hf_architecture"]],
        "model_type": FIELDS["hf_model_type"],
        "torch_dtype": FIELDS["hf_torch_dtype"],
        "quantization_config": {"quant_method": FIELDS["hf_quant_method"], "bits": 4},
        "vocab_size": 4,
    })
    dump("tokenizer_config.json", {"chat_template": FIELDS["hf_chat_template"]})
    dump("tokenizer.json", {"model": {"vocab": {FIELDS["hf_token"]: 0}}})
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8", newline="") as f:
        # Raw: one line each (the test keeps CR and LF out of these fields).
        f.write("---\nlicense: %s\nbase_model: %s\n---\n" % (
            FIELDS["hf_card_license"], FIELDS["hf_card_base_model"]))


gguf_model()
hf_folder()
