use proptest::prelude::*;

use super::*;
use crate::inspect::facts::Severity;

fn reaches(template: &str) -> Vec<String> {
    analyse(template, &Limits::default()).reaches
}

fn codes(template: &str) -> Vec<(String, Severity)> {
    template_findings("t", template, &Limits::default())
        .into_iter()
        .map(|f| (f.code, f.severity))
        .collect()
}

/// The committed templates of tests/vectors/templates/`dir`, with the
/// severity their index expects (`none` for the real ones).
fn corpus(dir: &str) -> Vec<(String, String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors/templates")
        .join(dir);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap_or_default())
            .unwrap_or_default();
    let mut out = Vec::new();
    for e in index["templates"].as_array().map_or(&[][..], Vec::as_slice) {
        let file = e["file"].as_str().unwrap_or_default();
        if let Ok(text) = std::fs::read_to_string(root.join(file)) {
            let severity = e["expected_severity"].as_str().unwrap_or("none").to_owned();
            out.push((file.to_owned(), text, severity));
        }
    }
    out
}

#[test]
fn every_real_template_parses_and_gets_no_finding() {
    let real = corpus("real");
    assert!(real.len() >= 80, "{} real templates", real.len());
    let limits = Limits::default();
    let wrong: Vec<String> = real
        .iter()
        .filter_map(|(file, text, _)| {
            let a = analyse(text, &limits);
            (a != Analysis::default()).then(|| format!("{file}: {a:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "false positives:\n{}", wrong.join("\n"));
}

#[test]
fn every_hostile_template_gets_the_severity_its_index_expects() {
    let hostile = corpus("hostile");
    assert!(hostile.len() >= 50, "{} hostile templates", hostile.len());
    let mut wrong = Vec::new();
    for (file, text, expected) in &hostile {
        let found = template_findings(file, text, &Limits::default());
        let has = |code: &str| found.iter().any(|f| f.code == code);
        let errors = found.iter().any(|f| f.severity == Severity::Error);
        let warnings = found.iter().any(|f| f.severity == Severity::Warning);
        let ok = match expected.as_str() {
            "error" => has("template.code_execution"),
            "warning" => warnings && !errors,
            _ => found.is_empty(),
        };
        if !ok {
            wrong.push(format!("{file}: expected {expected}, got {found:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_advisory_payloads_are_code_execution() {
    // CVE-2024-34359 (GHSA-56xg-wfcc-g829): the public proof of concept.
    let cve_2024_34359 = "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}{{x()._module.__builtins__['__import__']('os').popen(\"touch /tmp/retr0reg\")}}{%endif%}{% endfor %}";
    // CVE-2026-5760 (SGLang): the template its proof of concept ships.
    let cve_2026_5760 = "The answer can only be \"yes\" or \"no\".{{ lipsum.__globals__[\"os\"].popen(\"id\").read() }}{% for m in messages %}{{ m.content }}{% endfor %}";
    for payload in [cve_2024_34359, cve_2026_5760] {
        assert_eq!(
            codes(payload),
            [("template.code_execution".to_owned(), Severity::Error)],
            "{payload}"
        );
    }
}

#[test]
fn a_payload_at_the_end_of_a_multi_megabyte_template_is_found() {
    let padding = "x".repeat(4 << 20);
    let template = format!(
        "{{% set system = '{padding}' %}}{{{{ system }}}}{{{{ cycler.__init__.__globals__.os.popen('id').read() }}}}"
    );
    let found = codes(&template);
    assert!(found.contains(&("template.code_execution".into(), Severity::Error)));
    assert!(found.contains(&("template.very_long".into(), Severity::Warning)));
    let benign = format!("{{% set system = '{padding}' %}}{{{{ system }}}}");
    assert_eq!(
        codes(&benign),
        [("template.very_long".to_owned(), Severity::Warning)]
    );
}

#[test]
fn loading_other_templates_is_a_warning() {
    for t in [
        "{% include 'x.jinja' %}",
        "{% import 'm.jinja' as m %}{{ m.f() }}",
        "{% from 'm.jinja' import f %}",
        "{% extends 'base.jinja' %}",
    ] {
        assert_eq!(
            codes(t),
            [("template.loads_template".to_owned(), Severity::Warning)],
            "{t}"
        );
    }
}

#[test]
fn a_template_that_does_not_parse_is_an_error_that_still_names_what_it_reaches() {
    assert_eq!(
        codes("{% for m in messages %}{{ m.content }}"),
        [("template.unparsed".to_owned(), Severity::Error)]
    );
    // Jinja2 accepts a call right after a filter (`x|f(…)()`); minijinja's
    // grammar does not: the tokens still say what the template reaches.
    let a = analyse(
        "{{ ()|attr('__class__')|attr('__base__')() }}",
        &Limits::default(),
    );
    assert!(a.unparsed.is_some());
    assert!(a.reaches.iter().any(|r| r.contains("__class__")), "{a:?}");
}

#[test]
fn transformers_generation_blocks_parse() {
    let t = "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% endif %}{% endfor %}";
    assert_eq!(analyse(t, &Limits::default()), Analysis::default());
    let t = "{%- generation -%}{{ cycler.__init__ }}{%- endgeneration -%}";
    assert_eq!(reaches(t), ["attribute `__init__` on `cycler`"]);
}

#[test]
fn str_format_fields_that_look_attributes_up_are_found() {
    assert!(!reaches("{{ '{0.__class__}'.format(messages) }}").is_empty());
    assert!(!reaches("{{ ('{0.' ~ 'mro}').format(messages) }}").is_empty());
    assert!(reaches("{{ '<tok{}>'.format(x) }}{{ '{0}{1}'.format(a, b) }}").is_empty());
}

#[test]
fn names_a_renderer_reads_from_the_request_are_code_execution() {
    for t in [
        "{{ ()|attr(messages[0].content) }}",
        "{{ messages|map(attribute=messages[0].content)|list }}",
        "{{ messages|selectattr(x) }}",
        "{{ lipsum[(lipsum|string)[18] * 2 ~ 'globals' ~ (lipsum|string)[18] * 2] }}",
        // Every name from the request, none in the template.
        "{{ lipsum[messages[0].content][messages[1].content].popen(messages[2].content).read() }}",
        "{{ ''[messages[0].content][messages[1].content][messages[2].content]() }}",
        "{% set g = messages[a][b] %}{{ g }}",
        "{% set g = cycler[messages[0].content] %}{% set os = g[x] %}{{ os.popen(y) }}",
        "{% set first = messages[m.a] %}{% set second = first[m.b] %}{{ second[m.c]() }}",
        "{% macro f() %}{% endmacro %}{{ f[x] }}",
    ] {
        assert!(!reaches(t).is_empty(), "{t}");
    }
    // Lookups by a request value or a loop index are what real templates do.
    for t in [
        "{{ messages[loop.index0 + 1]['content'] }}",
        "{{ tools[call['name']] }}{{ message[key] }}{{ m.content[0:10] }}",
        "{{ messages|map(attribute='role')|join(',') }}{{ messages|selectattr('role', 'equalto', 'user')|list }}",
        "{{ msgs|sort(attribute='a.b.0') }}",
        "{% for k in param %}{{ param[k] }}{% endfor %}{% set m = messages[idx] %}{{ m['role'] }}{{ m.get('x') }}",
        "{{ loop_messages[j]['role'] }}{{ message.tool_calls[i].function.arguments[key] }}",
    ] {
        assert!(reaches(t).is_empty(), "{t}: {:?}", reaches(t));
    }
}

#[test]
fn the_work_is_bounded_by_the_limits() {
    let limits = Limits::default();
    let many = "{{ a }}".repeat(usize::try_from(limits.template_max_tokens).unwrap_or(0));
    assert!(analyse(&many, &limits).limit.is_some());
    let chain = format!("{{{{ a{} }}}}", ".b".repeat(600));
    assert!(analyse(&chain, &limits).limit.is_some());
    let under = format!("{{{{ a{} }}}}", ".b".repeat(200));
    assert_eq!(analyse(&under, &limits), Analysis::default());
    // A long flat literal (a tool schema in a `{% set %}`) nests nothing:
    // only the tokens that deepen the tree count against a tag.
    let entries: Vec<String> = (0..2000).map(|i| format!("'k{i}': 'v'")).collect();
    let flat = format!(
        "{{% set schema = {{{}}} %}}{{{{ schema|tojson }}}}",
        entries.join(", ")
    );
    assert_eq!(analyse(&flat, &limits), Analysis::default());
}

/// The deepest trees the caps allow are parsed, judged and dropped within
/// the stack of a thread a scan runs on (2 MiB, Rust's default).
#[test]
fn the_deepest_trees_the_caps_allow_fit_a_two_mib_stack() {
    let limits = Limits::default();
    let per_tag = usize::try_from(limits.template_max_tag_operators).unwrap_or(0);
    let inputs = [
        format!("{{{{ a{} }}}}", ".b".repeat(per_tag - 2)),
        format!("{{{{ a{} }}}}", " ~ a".repeat(per_tag - 2)),
        format!("{{{{ a{} }}}}", "|f".repeat(per_tag - 2)),
        format!("{{{{ a{} }}}}", "()".repeat(per_tag - 2)),
        format!("{{{{ m{} }}}}", "[x]()".repeat(per_tag / 2 - 2)),
        format!("{{{{ {}a{} }}}}", "(".repeat(140), ")".repeat(140)),
        format!("{{{{ {}a{} }}}}", "[".repeat(140), "]".repeat(140)),
        format!("{}x{}", "{% if a %}".repeat(140), "{% endif %}".repeat(140)),
        format!("{{{{ {}a{} }}}}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{{{{ {}a }}}}", "not ".repeat(per_tag - 2)),
        format!("{{{{ {}a }}}}", "-".repeat(per_tag - 2)),
        // Folded: a set value and a subscript key, at the deepest a tag allows.
        format!(
            "{{% set x = 'a'{} %}}{{{{ x }}}}",
            " ~ 'a'".repeat(per_tag - 3)
        ),
        format!("{{{{ m['a'{}] }}}}", " ~ 'a'".repeat(per_tag - 5)),
        format!("{{{{ m{} }}}}", "[x]".repeat(per_tag - 2)),
        format!("{{{{ m|attr('a'{}) }}}}", " ~ 'a'".repeat(per_tag - 6)),
    ];
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for input in &inputs {
                let _ = template_findings("t", input, &limits);
            }
        });
    assert!(handle.is_ok_and(|h| h.join().is_ok()));
}

/// How a generated payload names an attribute.
#[derive(Debug, Clone)]
enum Build {
    Literal,
    /// Split at a byte, joined with `~` or `+`.
    Split(usize, bool),
    /// Every `_` as `\x5f`, `\u005f` or `\137`.
    Escaped(u8),
    /// `'_'*2 ~ core ~ '_'*2`.
    Repeat,
    Joined,
    Reversed,
    Replaced,
    PercentFormat,
    BraceFormat,
    Sliced,
    /// Through `{% set %}` into a variable.
    Variable(Box<Build>),
}

fn build_strategy() -> impl Strategy<Value = Build> {
    let leaf = prop_oneof![
        Just(Build::Literal),
        (1usize..12, any::<bool>()).prop_map(|(at, plus)| Build::Split(at, plus)),
        (0u8..3).prop_map(Build::Escaped),
        Just(Build::Repeat),
        Just(Build::Joined),
        Just(Build::Reversed),
        Just(Build::Replaced),
        Just(Build::PercentFormat),
        Just(Build::BraceFormat),
        Just(Build::Sliced),
    ];
    leaf.prop_recursive(1, 2, 1, |inner| {
        inner.prop_map(|b| Build::Variable(Box::new(b)))
    })
}

/// A Jinja expression for the string `name` built as `how`, and the
/// statements it needs first.
fn build(name: &str, how: &Build, sets: &mut String, n: &mut usize) -> String {
    match how {
        Build::Literal => format!("'{name}'"),
        Build::Split(at, plus) => {
            let at = (*at).min(name.len());
            let (a, b) = name.split_at(at);
            format!("('{a}' {} '{b}')", if *plus { "+" } else { "~" })
        }
        Build::Escaped(kind) => {
            let esc = ["\\x5f", "\\u005f", "\\137"][usize::from(*kind % 3)];
            format!("'{}'", name.replace('_', esc))
        }
        Build::Repeat => {
            let core = name.trim_start_matches('_');
            let lead = name.len() - core.len();
            format!("('_'*{lead} ~ '{core}')")
        }
        Build::Joined => {
            let parts: Vec<String> = name.chars().map(|c| format!("'{c}'")).collect();
            format!("([{}]|join)", parts.join(","))
        }
        Build::Reversed => format!("('{}'|reverse)", name.chars().rev().collect::<String>()),
        Build::Replaced => format!("('{}'|replace('Q','_'))", name.replace('_', "Q")),
        Build::PercentFormat => format!("('%s'|format('{name}'))"),
        Build::BraceFormat => format!("('{{0}}'.format('{name}'))"),
        Build::Sliced => format!("('x{name}y'[1:-1])"),
        Build::Variable(inner) => {
            let value = build(name, inner, sets, n);
            *n += 1;
            sets.push_str(&format!("{{% set v{n} = {value} %}}"));
            format!("v{n}")
        }
    }
}

/// Every way the generator reaches an attribute by name.
fn reach(root: &str, name_expr: &str, form: u8) -> String {
    match form % 6 {
        0 => format!("{{{{ {root}|attr({name_expr}) }}}}"),
        1 => format!("{{{{ {root}[{name_expr}] }}}}"),
        2 => format!("{{{{ [{root}]|map(attribute={name_expr})|list }}}}"),
        3 => format!("{{{{ [{root}]|map('attr', {name_expr})|list }}}}"),
        4 => format!("{{{{ [{root}]|selectattr({name_expr})|list }}}}"),
        _ => format!("{{% set r = {root}[{name_expr}] %}}{{{{ r }}}}"),
    }
}

const ROOTS: &[&str] = &[
    "cycler",
    "joiner",
    "namespace",
    "lipsum",
    "self",
    "range",
    "dict",
    "loop",
    "()",
    "''",
    "raise_exception",
    "messages",
];
const INTERNALS: &[&str] = &[
    "__class__",
    "__globals__",
    "__init__",
    "__subclasses__",
    "__builtins__",
    "__mro__",
    "__base__",
    "__dict__",
    "__code__",
    "__getattribute__",
    "mro",
    "_module",
    "_TemplateReference__context",
    "func_globals",
    "gi_frame",
];
const ORDINARY: &[&str] = &["content", "role", "name", "tool_calls", "type", "arguments"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Every generated way of building an internal name and looking it up
    /// is `template.code_execution`; the same builds of ordinary names are
    /// nothing.
    #[test]
    fn every_built_name_is_judged_by_what_it_names(
        root in prop::sample::select(ROOTS),
        internal in prop::sample::select(INTERNALS),
        ordinary in prop::sample::select(ORDINARY),
        how in build_strategy(),
        form in 0u8..6,
    ) {
        let mut sets = String::new();
        let mut n = 0;
        let expr = build(internal, &how, &mut sets, &mut n);
        let hostile = format!("{sets}{}", reach(root, &expr, form));
        let found = codes(&hostile);
        prop_assert!(
            found.contains(&("template.code_execution".into(), Severity::Error)),
            "{hostile}: {found:?}"
        );
        let mut sets = String::new();
        let expr = build(ordinary, &how, &mut sets, &mut n);
        let benign = format!("{sets}{}", reach(root, &expr, form));
        prop_assert_eq!(codes(&benign), vec![], "{}", benign);
    }

    /// Any text: the analysis returns, and what reaches internals is an error.
    #[test]
    fn any_text_is_judged_without_panicking(text in ".{0,400}") {
        let a = analyse(&text, &Limits::default());
        let found = a.findings("t");
        prop_assert_eq!(
            !a.reaches.is_empty(),
            found.iter().any(|f| f.code == "template.code_execution")
        );
    }
}
