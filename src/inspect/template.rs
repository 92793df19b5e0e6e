//! Chat templates: Jinja text that inference servers render on every
//! request. A template that reaches Python internals is a server-side
//! template injection waiting to run (CVE-2024-34359 in llama-cpp-python
//! rendered GGUF chat templates without a sandbox).

use super::digest::Sha256Digest;
use super::facts::{Finding, ModelFacts};

/// Constructs no chat template needs and every known Jinja SSTI payload
/// uses: dunder attribute walks to reach `os`/`subprocess`, the globals of
/// Jinja's default helpers (`cycler`, `joiner`, `lipsum`, `namespace`), and
/// statements that load other templates.
const CODE_LIKE: &[&str] = &[
    "__class__",
    "__mro__",
    "__base__",
    "__bases__",
    "__subclasses__",
    "__globals__",
    "__builtins__",
    "__import__",
    "__init__",
    "__getattribute__",
    "__dict__",
    "__code__",
    "__reduce__",
    ".mro(",
    "popen",
    "subprocess",
    "os.system",
    "import os",
    "eval(",
    "exec(",
    "compile(",
    "{% import",
    "{%- import",
    "{% include",
    "{%- include",
    "{% extends",
    "{%- extends",
    "{% from",
    "{%- from",
    "cycler.",
    "joiner.",
    "lipsum.",
    "namespace.__",
    "request.application",
    "config.items",
    "self._templaterefere", // self._TemplateReference__context, lowercased
    "attr(",
    "|attr",
    "\\x5f\\x5f", // "__" spelled as escapes to dodge a naive filter
    "\\u005f\\u005f",
];

/// The code-like constructs found in `template` (case-insensitive), in the
/// order of [`CODE_LIKE`].
pub fn code_like_constructs(template: &str) -> Vec<&'static str> {
    let lower = template.to_lowercase();
    CODE_LIKE
        .iter()
        .copied()
        .filter(|needle| lower.contains(needle))
        .collect()
}

/// Record a chat template on `facts`: its digest and, when it holds
/// code-like constructs, a `template.code_like` warning. `source` names
/// where it came from (a metadata key or a file).
pub fn record_chat_template(facts: &mut ModelFacts, template: &str, source: &str) {
    facts.chat_template_sha256 = Some(Sha256Digest::of(template.as_bytes()));
    let found = code_like_constructs(template);
    if !found.is_empty() {
        facts.push(Finding::warning(
            "template.code_like",
            format!(
                "chat template in {source} contains code-like constructs ({}); servers render it on every request",
                found.join(", ")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_templates_are_clean() {
        // Templates shipped by Llama 3 and ChatML-style models.
        let llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";
        let chatml = "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}";
        assert!(code_like_constructs(llama3).is_empty());
        assert!(code_like_constructs(chatml).is_empty());
    }

    #[test]
    fn ssti_payloads_are_flagged() {
        let payloads = [
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ self._TemplateReference__context.joiner.__init__.__globals__.os.popen('id') }}",
            "{% import 'os' as os %}",
            "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
            "{{ lipsum.__globals__['os'].popen('id').read() }}",
        ];
        for p in payloads {
            assert!(!code_like_constructs(p).is_empty(), "not flagged: {p}");
        }
    }

    #[test]
    fn record_sets_digest_and_warning() {
        let mut facts = ModelFacts::default();
        record_chat_template(
            &mut facts,
            "{{ cycler.__init__.__globals__ }}",
            "tokenizer.chat_template",
        );
        assert_eq!(
            facts.chat_template_sha256,
            Some(Sha256Digest::of(b"{{ cycler.__init__.__globals__ }}"))
        );
        assert_eq!(facts.findings.len(), 1);
        assert_eq!(
            facts.findings.first().map(|f| f.code.as_str()),
            Some("template.code_like")
        );
        assert_eq!(facts.warnings.len(), 1);
    }
}
