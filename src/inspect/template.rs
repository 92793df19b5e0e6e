//! Chat templates: Jinja text that inference servers render on every
//! request. A template that reaches Python internals is a server-side
//! template injection waiting to run (CVE-2024-34359 in llama-cpp-python
//! rendered GGUF chat templates without a sandbox).

use super::facts::{Finding, ModelFacts};
use crate::io::digest::Sha256Digest;

/// A construct that has no business in a chat template but appears in Jinja
/// server-side template injection payloads, e.g.
/// `{{ cycler.__init__.__globals__.os.popen('id').read() }}`,
/// `{{ ''.__class__.__mro__[1].__subclasses__() }}`,
/// `{{ lipsum.__globals__['os'] }}`, `{{ ()|attr('\x5f\x5fclass\x5f\x5f') }}`,
/// `{{ request.application.__globals__ }}`, `{{ config.items() }}`.
struct Pattern {
    needle: &'static str,
    /// The character before must not be part of an identifier.
    word_start: bool,
    /// The character after must start an identifier (`os.popen`, not "photos. ").
    ident_after: bool,
}

const fn p(needle: &'static str, word_start: bool, ident_after: bool) -> Pattern {
    Pattern {
        needle,
        word_start,
        ident_after,
    }
}

const TEMPLATE_PATTERNS: &[Pattern] = &[
    p("__class__", false, false),
    p("__globals__", false, false),
    p("__subclasses__", false, false),
    p("__import__", false, false),
    p("__builtins__", false, false),
    p("__mro__", false, false),
    p("__base__", false, false),
    p("__bases__", false, false),
    p("__init__", false, false),
    p("__dict__", false, false),
    p("__getattribute__", false, false),
    p("__reduce__", false, false),
    p("__code__", false, false),
    p(".mro", false, false),
    p("\\x5f", false, false),
    p("\\u005f", false, false),
    p("|attr", false, false),
    p("os.", true, true),
    p("popen", true, false),
    p("subprocess", true, false),
    p("eval(", true, false),
    p("exec(", true, false),
    p("getattr(", true, false),
    p("{% import", false, false),
    p("{%- import", false, false),
    p("{% include", false, false),
    p("{%- include", false, false),
    p("{% extends", false, false),
    p("{%- extends", false, false),
    p("{% from", false, false),
    p("{%- from", false, false),
    p("cycler", true, false),
    p("joiner", true, false),
    p("lipsum", true, false),
    p("url_for", true, false),
    p("get_flashed_messages", true, false),
    p("request.", true, true),
    p("config.", true, true),
    p("self._", true, false),
];

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The code-like constructs found in a template (matched ASCII
/// case-insensitively), in table order.
pub fn code_like_constructs(template: &str) -> Vec<&'static str> {
    let lower = template.to_ascii_lowercase();
    let hay = lower.as_bytes();
    TEMPLATE_PATTERNS
        .iter()
        .filter(|pat| {
            lower.match_indices(pat.needle).any(|(at, _)| {
                let before_ok = !pat.word_start
                    || at == 0
                    || hay.get(at - 1).is_none_or(|&b| !is_ident(b) && b != b'.');
                let after = hay.get(at + pat.needle.len()).copied();
                let after_ok =
                    !pat.ident_after || after.is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
                before_ok && after_ok
            })
        })
        .map(|pat| pat.needle)
        .collect()
}

/// A `template.code_like` warning for the template found at `source`, if
/// it holds code-like constructs.
pub fn code_like_finding(source: &str, template: &str) -> Option<Finding> {
    let found = code_like_constructs(template);
    if found.is_empty() {
        return None;
    }
    Some(Finding::warning(
        "template.code_like",
        format!(
            "chat template in {source} contains constructs used to run code from Jinja templates: {}",
            found.join(", ")
        ),
    ))
}

/// Record a chat template on `facts`: its digest and, when it holds
/// code-like constructs, a `template.code_like` warning. `source` names
/// where it came from (a metadata key or a file).
pub fn record_chat_template(facts: &mut ModelFacts, template: &str, source: &str) {
    facts.chat_template_sha256 = Some(Sha256Digest::of(template.as_bytes()));
    if let Some(finding) = code_like_finding(source, template) {
        facts.push(finding);
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

    #[test]
    fn ssti_payloads_are_code_like_and_real_templates_are_not() {
        let payloads = [
            "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ lipsum.__globals__['os'].popen('ls') }}",
            "{{ ()|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
            "{{ request.application }}",
            "{{ config.items() }}",
            "{% import 'os' as os %}",
            "{{ self._TemplateReference__context }}",
            "{{ joiner().__init__ }}",
        ];
        for t in payloads {
            assert!(!code_like_constructs(t).is_empty(), "{t}");
        }
        let benign = [
            "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}",
            "{%- set ns = namespace(found=false) -%}{{ raise_exception('x') }}{{ m.content | tojson }}",
            "You are helpful. Look at the photos. Handle the user's request. Retrieval(x). config is fine",
            "{{- bos_token }}{%- if tools is not none %}{{- strftime_now('%d %b %Y') }}{%- endif %}",
        ];
        for t in benign {
            assert_eq!(code_like_constructs(t), Vec::<&str>::new(), "{t}");
        }
    }
}
