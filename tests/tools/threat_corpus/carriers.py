"""Class `template_carrier`: one template in each place a model carries one
(issue 20 item 2), hostile in exactly one place, with a benign twin that has
a real template in the same place.

GGUF (written by gguf-py's GGUFWriter): tokenizer.chat_template, the named
tokenizer.chat_template.<name> keys (with and without the
tokenizer.chat_templates list). Hugging Face folders (a safetensors model
written by the safetensors package, JSON by Python's json): chat_template in
tokenizer_config.json as a string and as a list of named templates (hostile
in a non-default entry); chat_template.jinja, chat_template.json and
tokenizer_config.json together with the payload in only one of them;
additional_chat_templates/*.jinja; processor_config.json and
preprocessor_config.json; JSON-escaped forms (\\u005f for every underscore);
a repeated chat_template key (Python's json keeps the last); a
multi-megabyte template with the payload at the end.

Generated at test time (never committed): the folder cases are small but
derived entirely from the committed templates.
"""
import json

import rawmodel as rm
import templates as tp

CLS = "template_carrier"
CODES = ["template.code_execution"]


def hostile_text(hostile, stem):
    for e in hostile:
        if e["file"] == stem + ".jinja":
            return e["text"]
    raise KeyError(stem)


def escape_all(obj):
    """JSON text in which every '_', '{' and '}' inside strings is a \\u escape,
    so the raw bytes never show '__' or '{{' (Python's json decodes it back)."""
    text = json.dumps(obj, ensure_ascii=True, indent=2)
    out, in_str, esc = [], False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
                out.append(ch)
                continue
            if ch == "\\":
                esc = True
                out.append(ch)
                continue
            if ch == '"':
                in_str = False
                out.append(ch)
                continue
            if ch in "_{}":
                out.append("\\u%04x" % ord(ch))
                continue
            out.append(ch)
        else:
            if ch == '"':
                in_str = True
            out.append(ch)
    return "".join(out)


def jdump(obj):
    return json.dumps(obj, indent=2, ensure_ascii=False).encode("utf-8")


def hf_folder(extra):
    """A minimal Hugging Face model folder plus `extra` files."""
    files = {
        "config.json": jdump({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                              "hidden_size": 4, "vocab_size": 4}),
        "model.safetensors": rm.safetensors_file(metadata={"format": "pt"}),
    }
    files.update(extra)
    return files


def tok_config(chat_template):
    return {"bos_token": "<s>", "eos_token": "</s>", "model_max_length": 4096,
            "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": chat_template}


def build(corpus, repo, hostile):
    bad = hostile_text(hostile, "cycler-init-globals-os")
    sglang = tp.SGLANG_PAYLOAD
    good = tp.read_real(repo, "meta-llama-Llama-3.1-8B-Instruct.jinja")
    good_tool = tp.read_real(repo, "CohereForAI-c4ai-command-r-plus-tool_use.jinja")
    good_rag = tp.read_real(repo, "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja")
    long_bad = hostile_text(hostile, "very-long-payload-at-end")
    long_good = hostile_text(hostile, "very-long-benign")
    tensors = rm.small_tensors()

    def gguf(name, template, technique, verdict, why, kv=()):
        corpus.add_file(f"carriers/{name}.gguf", rm.gguf_writer(tensors, kv=kv, template=template), CLS,
                        technique, verdict, why, None, CODES if verdict == "malicious" else [], commit=False)

    def folder(name, files, technique, verdict, why, advisory=None):
        corpus.add_folder(f"carriers/{name}", hf_folder(files), CLS, technique, verdict, why, advisory,
                          CODES if verdict == "malicious" else [], commit=False)

    hostile_why = "the runtime renders this template: " + tp.RCE
    gguf("gguf-default-key-hostile", bad, "hostile tokenizer.chat_template", "malicious", hostile_why)
    gguf("gguf-default-key-sglang", sglang, "the CVE-2026-5760 proof-of-concept template in tokenizer.chat_template",
         "malicious", hostile_why)
    gguf("gguf-default-key-benign", good, "real Llama 3.1 template in tokenizer.chat_template", "benign", "real")
    gguf("gguf-named-tool-use-hostile",
         [{"name": "default", "template": good}, {"name": "tool_use", "template": bad}],
         "benign tokenizer.chat_template, hostile tokenizer.chat_template.tool_use (listed in "
         "tokenizer.chat_templates)", "malicious",
         "llama.cpp renders tokenizer.chat_template.tool_use when a request has tools")
    gguf("gguf-named-rag-hostile",
         [{"name": "default", "template": good}, {"name": "tool_use", "template": good_tool},
          {"name": "rag", "template": bad}],
         "hostile tokenizer.chat_template.rag among benign default and tool_use", "malicious",
         "a runtime that offers named templates renders it on request")
    gguf("gguf-named-only-hostile", [{"name": "custom", "template": bad}],
         "only a named template (tokenizer.chat_template.custom), no default key", "malicious",
         "a reader that looks at tokenizer.chat_template alone sees no template")
    gguf("gguf-named-unlisted-hostile", good,
         "hostile tokenizer.chat_template.tool_use written without the tokenizer.chat_templates list",
         "malicious", "llama.cpp looks the tool_use key up by name, list or no list",
         kv=[("tokenizer.chat_template.tool_use", bad)])
    gguf("gguf-named-benign",
         [{"name": "default", "template": good}, {"name": "tool_use", "template": good_tool},
          {"name": "rag", "template": good_rag}],
         "real Llama default, Command-R+ tool_use and Command-R7B templates as named GGUF templates",
         "benign", "real templates")
    gguf("gguf-large-payload-at-end", long_bad, "a 4 MiB template with the payload in its last bytes",
         "malicious", hostile_why + "; a scanner that reads a prefix misses it")
    gguf("gguf-large-benign", long_good, "a 4 MiB template without payload", "warning",
         "unusual size, no code")

    folder("hf-tokenizer-config-string-hostile", {"tokenizer_config.json": jdump(tok_config(bad))},
           "chat_template string in tokenizer_config.json", "malicious", hostile_why)
    folder("hf-tokenizer-config-string-benign", {"tokenizer_config.json": jdump(tok_config(good))},
           "real template as the chat_template string of tokenizer_config.json", "benign", "real")
    folder("hf-tokenizer-config-list-tool-use-hostile",
           {"tokenizer_config.json": jdump(tok_config([{"name": "default", "template": good},
                                                        {"name": "tool_use", "template": bad}]))},
           "chat_template as a list of named templates, hostile in tool_use (not default)", "malicious",
           "transformers renders a named template when asked (apply_chat_template(chat_template='tool_use')) "
           "and picks tool_use for tool calls")
    folder("hf-tokenizer-config-list-rag-hostile",
           {"tokenizer_config.json": jdump(tok_config([{"name": "default", "template": good},
                                                        {"name": "tool_use", "template": good_tool},
                                                        {"name": "rag", "template": sglang}]))},
           "chat_template list, hostile (SGLang payload) in rag", "malicious", hostile_why,
           advisory="CVE-2026-5760")
    folder("hf-tokenizer-config-list-benign",
           {"tokenizer_config.json": jdump(tok_config([{"name": "default", "template": good},
                                                        {"name": "tool_use", "template": good_tool},
                                                        {"name": "rag", "template": good_rag}]))},
           "chat_template list of three real templates", "benign", "real")
    three = {"chat_template.jinja": good.encode(), "chat_template.json": jdump({"chat_template": good}),
             "tokenizer_config.json": jdump(tok_config(good))}
    folder("hf-three-files-benign", three,
           "chat_template.jinja, chat_template.json and tokenizer_config.json, all real", "benign", "real")
    for which, data in (("jinja", bad.encode()), ("json", jdump({"chat_template": bad})),
                        ("tokenizer-config", jdump(tok_config(bad)))):
        files = dict(three)
        key = {"jinja": "chat_template.jinja", "json": "chat_template.json",
               "tokenizer-config": "tokenizer_config.json"}[which]
        files[key] = data
        folder(f"hf-three-files-payload-in-{which}", files,
               f"chat_template.jinja, chat_template.json and tokenizer_config.json present; the payload only in {key}",
               "malicious", "which file a runtime prefers differs between versions (transformers prefers "
                            "chat_template.jinja, older ones chat_template.json or tokenizer_config.json): "
                            "every one must be scanned")
    folder("hf-additional-chat-templates-hostile",
           {"chat_template.jinja": good.encode(), "additional_chat_templates/tool_use.jinja": bad.encode()},
           "hostile additional_chat_templates/tool_use.jinja next to a benign chat_template.jinja",
           "malicious", "transformers loads additional_chat_templates/*.jinja as named templates")
    folder("hf-additional-chat-templates-benign",
           {"chat_template.jinja": good.encode(),
            "additional_chat_templates/tool_use.jinja": good_tool.encode(),
            "additional_chat_templates/rag.jinja": good_rag.encode()},
           "real templates in additional_chat_templates/", "benign", "real")
    for name in ("processor_config.json", "preprocessor_config.json"):
        stem = name.split(".")[0].replace("_", "-")
        folder(f"hf-{stem}-hostile", {name: jdump({"processor_class": "LlavaProcessor", "chat_template": bad})},
               f"chat_template in {name}", "malicious",
               "multimodal processors (transformers ProcessorMixin) render the processor's chat_template")
        folder(f"hf-{stem}-benign", {name: jdump({"processor_class": "LlavaProcessor",
                                                  "chat_template": tp.read_real(
                                                      repo, "llama-cpp-python-llava15chathandler-chat-format.jinja")})},
               f"real LLaVA chat format in {name}", "benign", "real")
    folder("hf-json-escaped-tokenizer-config-hostile",
           {"tokenizer_config.json": escape_all(tok_config(bad)).encode()},
           "tokenizer_config.json whose chat_template writes every '_', '{' and '}' as a \\u escape "
           "(no '__' or '{{' in the raw bytes)", "malicious", hostile_why + "; json.loads restores the payload")
    folder("hf-json-escaped-chat-template-json-hostile",
           {"chat_template.json": escape_all({"chat_template": sglang}).encode()},
           "chat_template.json with the SGLang payload \\u-escaped", "malicious", hostile_why,
           advisory="CVE-2026-5760")
    folder("hf-json-escaped-benign", {"tokenizer_config.json": escape_all(tok_config(good)).encode()},
           "a real template \\u-escaped in tokenizer_config.json", "benign", "real, only escaped")
    folder("hf-duplicate-chat-template-key-hostile-last",
           {"tokenizer_config.json": ('{\n  "bos_token": "<s>",\n  "chat_template": ' + json.dumps(good)
                                      + ',\n  "chat_template": ' + json.dumps(bad) + "\n}\n").encode()},
           "chat_template twice in tokenizer_config.json: real first, hostile last", "malicious",
           "Python's json keeps the last value, so transformers renders the hostile one",)
    folder("hf-large-payload-at-end", {"tokenizer_config.json": jdump(tok_config(long_bad))},
           "a 4 MiB chat_template in tokenizer_config.json with the payload at the end", "malicious",
           hostile_why + "; a scanner that reads a prefix misses it")
    folder("hf-large-benign", {"chat_template.jinja": long_good.encode()},
           "a 4 MiB chat_template.jinja without payload", "warning", "unusual size, no code")
