#!/usr/bin/env python3
"""Write the model of l-bom's own CLI tests (CHKDSKLabs/l-bom,
tests/test_cli.py, `_sample_document`) as a real GGUF file, with the
independent `gguf` package (GGUFWriter), so that those tests can be run as
CLI calls against `lbom scan` (tests/lbom_cli.rs).

The sample's metadata: a hash-like `general.name` (l-bom then titles the
card with the file's stem), size label 1.2B (far from the tensors here, so
the scan has a warning to find in the card), licence `other` named
`lfm1.0` with link `LICENSE`, tags `liquid` and `text-generation`,
languages `en` and `fr`, and a chat template that must not leak into the
card.

Usage: lbom_cli_sample.py OUT.gguf
"""
import sys

import numpy as np
import gguf

out = sys.argv[1]
w = gguf.GGUFWriter(out, "llama")
w.add_name("4cd563d5a96af9e7c738b76cd89a0a200db7608f")
w.add_size_label("1.2B")
w.add_license("other")
w.add_string("general.license.name", "lfm1.0")
w.add_license_link("LICENSE")
w.add_tags(["liquid", "text-generation"])
w.add_languages(["en", "fr"])
w.add_context_length(128)
w.add_file_type(gguf.LlamaFileType.ALL_F32)
w.add_chat_template("huge value that should not leak into the README")
rng = np.random.default_rng(0)
w.add_tensor("token_embd.weight", rng.standard_normal((16, 8), dtype=np.float32))
w.add_tensor("output_norm.weight", np.ones(8, dtype=np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
