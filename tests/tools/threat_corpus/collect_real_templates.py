#!/usr/bin/env python3
"""Collect the real chat templates (benign fixtures) into tests/vectors/templates/real/.

Usage: collect_real_templates.py SDIST.tar.gz REPO

SDIST is llama-cpp-python's source distribution from PyPI, fetched with the
ordinary client:

    pip download --no-deps --no-binary :all: llama-cpp-python==0.3.36 -d DIR

(pip prepares its metadata, which needs scikit-build-core and cmake in the
environment: `pip install scikit-build-core cmake` and `--no-build-isolation`).
It vendors llama.cpp, whose models/templates/ holds the chat templates of
many model families as their publishers ship them in tokenizer_config.json,
and llama_cpp/llama_chat_format.py holds llama-cpp-python's own Jinja
formats. Both are copied byte for byte: the .jinja files as stored, the
Python string constants read with `ast` (never imported or run).

Entries already in real/index.json whose `source` is not this sdist (the
templates retrieved from ggml-org/llama.cpp through the code-search index,
with the commit it reported) are kept as they are.
"""
import ast
import hashlib
import json
import os
import re
import sys
import tarfile

SDIST_VERSION = "0.3.36"
LLAMA_CPP = "llama.cpp (vendored in the llama-cpp-python sdist at vendor/llama.cpp)"
LICENCES = {
    "llama-cpp-python": "MIT (llama-cpp-python LICENSE.md)",
    "llama.cpp": "MIT (llama.cpp LICENSE)",
}

# File-name pattern -> model family. First match wins.
FAMILIES = [
    (r"chatml.function.calling", "ChatML function calling (llama-cpp-python)"),
    (r"Nemotron-Super", "Llama 3.3 Nemotron (NVIDIA)"),
    (r"Nemotron", "Nemotron (NVIDIA)"),
    (r"Hermes", "Hermes (NousResearch, Llama 3 based)"),
    (r"functionary", "Functionary (MeetKai, Llama 3.1 based)"),
    (r"firefunction", "FireFunction (Fireworks, Llama 3 based)"),
    (r"Llama-3\.1|Llama-3\.2|Llama-3\.3|LLAMA3|Llama3Vision", "Llama 3.x"),
    (r"gpt-oss", "GPT-OSS (OpenAI, harmony format)"),
    (r"Qwen3-Coder", "Qwen3 Coder"),
    (r"Qwen3\.5", "Qwen3.5"),
    (r"Qwen3|QwQ", "Qwen3 / QwQ"),
    (r"Qwen2\.5|Qwen25", "Qwen2.5"),
    (r"DeepSeek-R1|deepseek-r1", "DeepSeek R1"),
    (r"DeepSeek", "DeepSeek V3/V4"),
    (r"gemma", "Gemma (Google)"),
    (r"Phi", "Phi (Microsoft)"),
    (r"command-r|Cohere", "Command-R (Cohere)"),
    (r"granite", "Granite (IBM)"),
    (r"Mistral|Ministral|Devstral|MISTRAL|MIXTRAL", "Mistral"),
    (r"Kimi", "Kimi (Moonshot AI)"),
    (r"GLM", "GLM (Zhipu AI)"),
    (r"MiniMax", "MiniMax"),
    (r"LFM", "LFM (Liquid AI)"),
    (r"GigaChat", "GigaChat (Sber)"),
    (r"Apriel", "Apriel (ServiceNow)"),
    (r"Apertus", "Apertus (Swiss AI)"),
    (r"Bielik", "Bielik"),
    (r"Seed-OSS", "Seed-OSS (ByteDance)"),
    (r"SmolLM", "SmolLM (Hugging Face)"),
    (r"MiMo", "MiMo (Xiaomi)"),
    (r"Reka", "Reka"),
    (r"Spark", "Spark (iFlytek)"),
    (r"StepFun", "Step (StepFun)"),
    (r"-ling-", "Ling (inclusionAI)"),
    (r"rwkv", "RWKV"),
    (r"MiniCPM", "MiniCPM (OpenBMB)"),
    (r"Laguna", "Laguna (poolside)"),
    (r"Hy3", "Hunyuan (Tencent)"),
    (r"Solar", "Solar (Upstage)"),
    (r"glimmer", "Glimmer (muse)"),
    (r"CHATML", "ChatML (generic)"),
    (r"Llava|Moondream|Obsidian", "LLaVA-style vision chat formats"),
]


def family(name):
    for pattern, fam in FAMILIES:
        if re.search(pattern, name, re.IGNORECASE):
            return fam
    return "other"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def chat_format_templates(source):
    """(name, text) of every Jinja string constant in llama_chat_format.py:
    module-level *_TEMPLATE constants, class CHAT_FORMAT attributes, and
    template strings assigned inside functions."""
    tree = ast.parse(source)
    out = []

    def is_jinja(v):
        return isinstance(v, ast.Constant) and isinstance(v.value, str) and ("{%" in v.value or "{{" in v.value)

    for node in tree.body:
        if isinstance(node, ast.Assign) and is_jinja(node.value) and isinstance(node.targets[0], ast.Name):
            out.append((node.targets[0].id, node.value.value, node.lineno))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for b in node.body:
                if isinstance(b, ast.Assign) and is_jinja(b.value) and isinstance(b.targets[0], ast.Name):
                    out.append((f"{node.name}.{b.targets[0].id}", b.value.value, b.lineno))
        elif isinstance(node, ast.FunctionDef):
            for b in ast.walk(node):
                if (isinstance(b, ast.Assign) and is_jinja(b.value) and "{%" in b.value.value
                        and isinstance(b.targets[0], ast.Name)):
                    out.append((f"{node.name}.{b.targets[0].id}", b.value.value, b.lineno))
    return sorted(set(out), key=lambda x: x[2])


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sdist, repo = argv[1], argv[2]
    real = os.path.join(repo, "tests", "vectors", "templates", "real")
    os.makedirs(real, exist_ok=True)
    index_path = os.path.join(real, "index.json")
    kept = []
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as f:
            kept = [e for e in json.load(f)["templates"] if not e["source"].startswith("pypi:")]
    with open(sdist, "rb") as f:
        sdist_sha = sha(f.read())
    source = f"pypi:llama-cpp-python=={SDIST_VERSION} (sdist sha256 {sdist_sha})"
    entries = []
    with tarfile.open(sdist) as tar:
        root = f"llama_cpp_python-{SDIST_VERSION}/"
        for m in sorted(tar.getmembers(), key=lambda m: m.name):
            if not (m.isfile() and m.name.startswith(root + "vendor/llama.cpp/models/templates/")
                    and m.name.endswith(".jinja")):
                continue
            data = tar.extractfile(m).read()
            name = os.path.basename(m.name)
            with open(os.path.join(real, name), "wb") as out:
                out.write(data)
            entries.append({"file": name, "family": family(name), "source": source,
                            "path": m.name[len(root):], "repository": "ggml-org/llama.cpp",
                            "licence": LICENCES["llama.cpp"], "sha256": sha(data), "size": len(data)})
        py = tar.extractfile(root + "llama_cpp/llama_chat_format.py").read().decode("utf-8")
    for qual, text, line in chat_format_templates(py):
        name = "llama-cpp-python-" + qual.replace(".", "-").replace("_", "-").lower() + ".jinja"
        data = text.encode("utf-8")
        with open(os.path.join(real, name), "wb") as out:
            out.write(data)
        entries.append({"file": name, "family": family(qual), "source": source,
                        "path": f"llama_cpp/llama_chat_format.py line {line} ({qual})",
                        "repository": "abetlen/llama-cpp-python", "licence": LICENCES["llama-cpp-python"],
                        "sha256": sha(data), "size": len(data)})
    names = {e["file"] for e in entries}
    entries += [e for e in kept if e["file"] not in names]
    doc = {
        "about": "Real chat templates from real model families: benign fixtures a template scanner must not "
                 "flag. Collected by tests/tools/threat_corpus/collect_real_templates.py; byte-exact copies. "
                 "The templates come from the model publishers' tokenizer_config.json files as redistributed "
                 "by the repositories named here, under those repositories' licences.",
        "templates": sorted(entries, key=lambda e: e["file"]),
    }
    with open(index_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(entries)} real templates in {real}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
