//! Side-file roles, capture and the keys they feed.

use super::*;

#[test]
fn roles_by_name() {
    let role = |p: &str| role_of(Path::new(p));
    assert_eq!(
        role("m/tokenizer.json"),
        Some((PathBuf::from("m"), "tokenizer.json".into(), Role::Tokenizer))
    );
    assert_eq!(
        role("m/additional_chat_templates/tool_use.jinja"),
        Some((
            PathBuf::from("m"),
            "additional_chat_templates/tool_use.jinja".into(),
            Role::NamedTemplate
        ))
    );
    assert_eq!(role("qwen.tiktoken").map(|r| r.2), Some(Role::Tokenizer));
    assert_eq!(
        role("tokenization_qwen.py").map(|r| r.2),
        Some(Role::Tokenizer)
    );
    assert_eq!(role("modeling_qwen.py").map(|r| r.2), Some(Role::ModelCode));
    assert_eq!(
        role("configuration_qwen.py").map(|r| r.2),
        Some(Role::ModelCode)
    );
    assert_eq!(
        role("processor_config.json").map(|r| r.2),
        Some(Role::ProcessorConfig)
    );
    assert_eq!(
        role("preprocessor_config.json").map(|r| r.2),
        Some(Role::ProcessorConfig)
    );
    assert_eq!(role("setup.py"), None);
    assert_eq!(role("LICENSE.txt").map(|r| r.2), Some(Role::Licence));
    assert_eq!(
        role("a/model.safetensors.index.json").map(|r| r.2),
        Some(Role::ShardIndex)
    );
    assert_eq!(role("model.safetensors"), None);
    assert_eq!(role("notes.txt"), None);
    assert_eq!(role(".tiktoken"), None);
    assert_eq!(role("additional_chat_templates/.jinja"), None);
}

#[test]
fn keys_feed_their_classes() {
    assert_eq!(feeds("side:tokenizer.json"), &[Feeds::Tokenizer]);
    assert_eq!(feeds("side:tokenizer_config.json"), &[Feeds::Tokenizer]);
    assert_eq!(
        feeds("side:tokenizer_config.json#chat_template"),
        &[Feeds::ChatTemplate]
    );
    assert_eq!(
        feeds("side:additional_chat_templates/rag.jinja"),
        &[Feeds::ChatTemplate]
    );
    assert_eq!(feeds("side:README.md#license_link"), &[Feeds::Licence]);
    assert_eq!(
        feeds("side:processor_config.json#chat_template"),
        &[Feeds::ChatTemplate]
    );
    assert!(feeds("side:processor_config.json").is_empty());
    assert_eq!(
        feeds("side:preprocessor_config.json#chat_template"),
        &[Feeds::ChatTemplate]
    );
    assert_eq!(feeds("side:modeling_x.py"), &[Feeds::Architecture]);
    assert_eq!(feeds("side:tokenization_x.py"), &[Feeds::Tokenizer]);
    assert_eq!(feeds("side:README.md#base_model"), &[Feeds::BaseModel]);
    assert_eq!(
        feeds("side:README.md#unread"),
        &[Feeds::Licence, Feeds::BaseModel]
    );
    assert!(feeds("side:config.json#unread").contains(&Feeds::Architecture));
    assert!(feeds("side:notes.txt").is_empty());
    assert!(feeds("tokenizer.json").is_empty());
    assert_eq!(key_file("side:README.md#license"), Some("README.md"));
    assert_eq!(key_file("general.name"), None);
}

#[test]
fn capture_keeps_what_the_rule_asks() -> std::io::Result<()> {
    let bytes = b"0123456789";
    let (d, kept) = read_capturing(&bytes[..], 10, CaptureRule::Whole(10))?;
    assert_eq!(d, Sha256Digest::of(bytes));
    assert!(matches!(kept, Kept::Whole(ref b) if b == bytes));
    let (_, kept) = read_capturing(&bytes[..], 10, CaptureRule::Whole(9))?;
    assert!(matches!(kept, Kept::Nothing));
    let (_, kept) = read_capturing(&bytes[..], 10, CaptureRule::Prefix(4))?;
    assert!(matches!(kept, Kept::Prefix(ref b) if b == b"0123"));
    let (_, kept) = read_capturing(&bytes[..], 10, CaptureRule::Prefix(40))?;
    assert!(matches!(kept, Kept::Whole(ref b) if b == bytes));
    let (d, kept) = read_capturing(&bytes[..], 10, CaptureRule::Digest)?;
    assert_eq!(d, Sha256Digest::of(bytes));
    assert!(matches!(kept, Kept::Nothing));
    Ok(())
}

#[test]
fn a_template_edit_in_tokenizer_config_is_not_a_settings_edit()
-> Result<(), Box<dyn std::error::Error>> {
    let limits = Limits::default();
    let says = |text: &str| {
        let d = Sha256Digest::of(text.as_bytes());
        extract(
            "tokenizer_config.json",
            Role::TokenizerConfig,
            &d,
            Capture::Whole(text.as_bytes()),
            &limits,
        )
    };
    let base = r#"{"bos_token": "<s>", "chat_template": "{{ a }}", "model_max_length": 2048}"#;
    let (
        Says::TokenizerConfig(a),
        Says::TokenizerConfig(b),
        Says::TokenizerConfig(c),
        Says::TokenizerConfig(d),
    ) = (
        says(base),
        says(&base.replace("{{ a }}", "{{ b }}")),
        says(&base.replace("<s>", "<|begin|>")),
        says(
            "{\n  \"bos_token\":\"<s>\",\"chat_template\":\"{{ a }}\",\n \"model_max_length\":2048}",
        ),
    )
    else {
        return Err("tokenizer_config.json was not read as one".into());
    };
    assert_eq!(a.settings, b.settings);
    assert_ne!(a.template_member, b.template_member);
    assert_ne!(a.settings, c.settings);
    assert_eq!(a.template_member, c.template_member);
    assert_eq!(a, d, "white space is not a change");
    assert_eq!(a.model_max_length, Some(2048));
    // Not JSON: not read, and a finding says so.
    assert!(matches!(
        extract("tokenizer_config.json", Role::TokenizerConfig, &Sha256Digest::of(b"{"), Capture::Whole(b"{"), &limits),
        Says::Unread(ref f) if f.code == "hf.invalid_json"
    ));
    // Too large: not read either, and the template it may hold not judged.
    assert!(matches!(
        extract("tokenizer_config.json", Role::TokenizerConfig, &Sha256Digest::of(b"{}"), Capture::Nothing, &limits),
        Says::Unread(ref f) if f.code == "template.limit_exceeded"
    ));
    assert!(matches!(
        extract("config.json", Role::Config, &Sha256Digest::of(b"{}"), Capture::Nothing, &limits),
        Says::Unread(ref f) if f.code == "hf.side_file_unread"
    ));
    Ok(())
}

#[test]
fn the_delivery_budget_keeps_digests_and_drops_the_rest() {
    // Room for the first folder's two files (what each says, its entry
    // and its names: SideFiles::add counts them all), not for four.
    let limits = Limits {
        side_facts_max_bytes: 1200,
        ..Limits::default()
    };
    let mut sides = SideFiles::default();
    let body = "x".repeat(100);
    for dir in ["a", "b", "c", "d"] {
        let d = Sha256Digest::of(body.as_bytes());
        sides.add(
            &Path::new(dir).join("chat_template.jinja"),
            d,
            Capture::Whole(body.as_bytes()),
            &limits,
        );
        let cfg = br#"{"architectures": ["LlamaForCausalLM"]}"#;
        sides.add(
            &Path::new(dir).join("config.json"),
            Sha256Digest::of(cfg),
            Capture::Whole(cfg),
            &limits,
        );
    }
    let first = sides.folder(Path::new("a"));
    assert!(matches!(first.first().map(|f| &f.says), Some(Says::Template(t)) if t.text.is_some()));
    let last = sides.folder(Path::new("d"));
    let Some(Says::Template(t)) = last.first().map(|f| &f.says) else {
        panic!("no template in d: {last:?}");
    };
    // The digest stays (the class still sees every change), the text goes.
    assert_eq!(t.sha256, Some(Sha256Digest::of(body.as_bytes())));
    assert_eq!(t.text, None);
    assert!(matches!(
        last.get(1).map(|f| &f.says),
        Some(Says::Unread(_))
    ));
}

#[test]
fn an_index_is_kept_only_within_the_budget() {
    let body = br#"{"metadata":{"total_size":8},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}}"#;
    let d = Sha256Digest::of(body);
    let read = |budget: u64| {
        let limits = Limits {
            side_facts_max_bytes: budget,
            ..Limits::default()
        };
        extract(
            "model.safetensors.index.json",
            Role::ShardIndex,
            &d,
            Capture::Whole(body),
            &limits,
        )
    };
    let Says::Index(ok) = read(1 << 20) else {
        panic!("not an index");
    };
    assert_eq!(ok.weight_map.len(), 2);
    assert_eq!(ok.total_size, Some(8));
    assert!(ok.findings.is_empty());
    let Says::Index(cut) = read(200) else {
        panic!("not an index");
    };
    assert!(cut.weight_map.is_empty());
    assert_eq!(
        cut.findings
            .iter()
            .map(|f| f.code.as_str())
            .collect::<Vec<_>>(),
        ["shards.bad_index"]
    );
}

/// What the key checks found is counted with what the files say: past the
/// budget, a file's key findings are one line and a count, so a delivery
/// of many folders of many repeated keys keeps a bounded list.
#[test]
fn key_findings_count_against_the_delivery_budget() {
    let limits = Limits {
        side_facts_max_bytes: 64 << 10,
        ..Limits::default()
    };
    let mut body = String::from("{\"a\":0");
    for _ in 0..40 {
        body.push_str(",\"a\":0");
    }
    body.push('}');
    let mut sides = SideFiles::default();
    for i in 0..1000 {
        sides.add(
            &Path::new(&format!("f{i:04}")).join("tokenizer.json"),
            Sha256Digest::of(body.as_bytes()),
            Capture::Whole(body.as_bytes()),
            &limits,
        );
    }
    let count = |dir: &str| {
        sides
            .folder(Path::new(dir))
            .first()
            .map_or(0, |f| f.key_findings.len())
    };
    assert!(count("f0000") > 30, "{}", count("f0000"));
    assert_eq!(count("f0999"), 2);
    let total: usize = (0..1000).map(|i| count(&format!("f{i:04}"))).sum();
    assert!(total < 1000 * 3, "{total}");
}

/// Every place a folder carries a template is judged, each file when
/// several exist, every entry of a list, JSON escapes decoded
/// (docs/findings.md, "Chat templates").
#[test]
fn every_template_location_of_a_folder_is_judged() {
    const HOSTILE: &str = "{{ lipsum.__globals__['os'].popen('id').read() }}";
    const BENIGN: &str = "{% for m in messages %}{{ m.content }}{% endfor %}";
    let escaped: String = HOSTILE
        .chars()
        .map(|c| match c {
            '_' | '{' | '}' => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect();
    let json = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let list = format!(
        r#"{{"chat_template":[{{"name":"default","template":{}}},{{"name":"tool_use","template":{}}}]}}"#,
        json(BENIGN),
        json(HOSTILE)
    );
    let cases: Vec<(&str, String)> = vec![
        ("chat_template.jinja", HOSTILE.into()),
        (
            "chat_template.json",
            format!(r#"{{"chat_template":{}}}"#, json(HOSTILE)),
        ),
        ("tokenizer_config.json", list),
        ("additional_chat_templates/rag.jinja", HOSTILE.into()),
        (
            "processor_config.json",
            format!(r#"{{"chat_template":"{escaped}"}}"#),
        ),
        (
            "preprocessor_config.json",
            format!(r#"{{"chat_template":{}}}"#, json(HOSTILE)),
        ),
    ];
    let limits = Limits::default();
    for (hostile_file, text) in &cases {
        // The hostile file beside benign versions of every other location.
        let mut sides = SideFiles::default();
        for (name, _) in &cases {
            let bytes = if name == hostile_file {
                text.clone()
            } else if name.ends_with(".jinja") {
                BENIGN.into()
            } else {
                format!(r#"{{"chat_template":{}}}"#, json(BENIGN))
            };
            sides.add(
                &Path::new("m").join(name),
                Sha256Digest::of(bytes.as_bytes()),
                Capture::Whole(bytes.as_bytes()),
                &limits,
            );
        }
        let ctx = crate::inspect::hf::FolderContext::from_side_files(sides.folder(Path::new("m")));
        let mut facts = crate::inspect::facts::ModelFacts::default();
        if let Some(ctx) = ctx {
            ctx.apply(&mut facts);
        }
        let found: Vec<&str> = facts
            .findings
            .iter()
            .filter(|f| f.code == "template.code_execution")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{hostile_file}: {found:?}");
        assert!(
            found.iter().all(|m| m.contains(hostile_file)),
            "{hostile_file}: {found:?}"
        );
    }
}

/// Padding a delivery past its budget of side-file facts does not turn a
/// hostile template into a warning: its error stays, one per file.
#[test]
fn a_template_shed_past_the_budget_keeps_its_error() {
    let limits = Limits {
        side_facts_max_bytes: 600,
        ..Limits::default()
    };
    let hostile = "{{ cycler.__init__.__globals__ }}";
    let config = format!(r#"{{"chat_template":"{hostile}"}}"#);
    let mut sides = SideFiles::default();
    let padding = "x".repeat(500);
    sides.add(
        Path::new("m/additional_chat_templates/pad.jinja"),
        Sha256Digest::of(padding.as_bytes()),
        Capture::Whole(padding.as_bytes()),
        &limits,
    );
    for (name, body) in [
        ("chat_template.jinja", hostile),
        ("tokenizer_config.json", config.as_str()),
        ("processor_config.json", config.as_str()),
    ] {
        sides.add(
            &Path::new("m").join(name),
            Sha256Digest::of(body.as_bytes()),
            Capture::Whole(body.as_bytes()),
            &limits,
        );
    }
    let ctx = crate::inspect::hf::FolderContext::from_side_files(sides.folder(Path::new("m")));
    let mut facts = crate::inspect::facts::ModelFacts::default();
    if let Some(ctx) = ctx {
        ctx.apply(&mut facts);
    }
    let errors = facts
        .findings
        .iter()
        .filter(|f| f.code == "template.code_execution")
        .count();
    let shed = facts
        .findings
        .iter()
        .filter(|f| f.code == "hf.side_file_unread")
        .count();
    assert!(shed >= 1, "nothing was shed: {:?}", facts.findings);
    assert_eq!(errors, 3, "{:?}", facts.findings);
}
