//! Pickles below were written by CPython 3 `pickle.dumps` (see each name),
//! except those marked hand-built.

use std::io::{Cursor, Write};

use ::zip::CompressionMethod;
use ::zip::write::{SimpleFileOptions, ZipWriter};
use proptest::prelude::*;

use super::*;

/// `os.system("echo pwned")` via `__reduce__`, protocols 0–5 (CPython names it posix.system).
const SYSTEM: [&[u8]; 6] = [
    b"cposix\x0asystem\x0ap0\x0a(Vecho pwned\x0ap1\x0atp2\x0aRp3\x0a.",
    b"cposix\x0asystem\x0aq\x00(X\x0a\x00\x00\x00echo pwnedq\x01tq\x02Rq\x03.",
    b"\x80\x02cposix\x0asystem\x0aq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.",
    b"\x80\x03cposix\x0asystem\x0aq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.",
    b"\x80\x04\x95%\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x0aecho pwned\x94\x85\x94R\x94.",
    b"\x80\x05\x95%\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\x0aecho pwned\x94\x85\x94R\x94.",
];
/// `eval("1+1")`, protocol 4.
const EVAL_P4: &[u8] = b"\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x031+1\x94\x85\x94R\x94.";
/// `subprocess.check_output(["id"])`, protocol 2 (CPython writes the Python 2 name).
const SUBPROCESS_P2: &[u8] =
    b"\x80\x02ccommands\x0acheck_output\x0aq\x00]q\x01X\x02\x00\x00\x00idq\x02a\x85q\x03Rq\x04.";
/// `OrderedDict(w=[1.0, 2.0])`, protocols 0–5.
const ODICT: [&[u8]; 6] = [
    b"ccollections\x0aOrderedDict\x0ap0\x0a(tRp1\x0aVw\x0ap2\x0a(lp3\x0aF1.0\x0aaF2.0\x0aas.",
    b"ccollections\x0aOrderedDict\x0aq\x00)Rq\x01X\x01\x00\x00\x00wq\x02]q\x03(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.",
    b"\x80\x02ccollections\x0aOrderedDict\x0aq\x00)Rq\x01X\x01\x00\x00\x00wq\x02]q\x03(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.",
    b"\x80\x03ccollections\x0aOrderedDict\x0aq\x00)Rq\x01X\x01\x00\x00\x00wq\x02]q\x03(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.",
    b"\x80\x04\x95=\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01w\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.",
    b"\x80\x05\x95=\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94\x8c\x01w\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.",
];
/// A torch-style state dict (two `_rebuild_tensor_v2` tensors over
/// `torch.FloatStorage` persistent ids), written by CPython's Pickler with
/// stand-in `torch` modules, protocols 2 and 4.
const TORCH_STATE_P2: &[u8] = b"\x80\x02ccollections\x0aOrderedDict\x0aq\x00)Rq\x01(X\x01\x00\x00\x00wq\x02ctorch._utils\x0a_rebuild_tensor_v2\x0aq\x03((X\x07\x00\x00\x00storageq\x04ctorch\x0aFloatStorage\x0aq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x06tq\x08QK\x00K\x02K\x03\x86q\x09K\x03K\x01\x86q\x0a\x89h\x00)Rq\x0btq\x0cRq\x0dX\x01\x00\x00\x00bq\x0eh\x03((h\x04h\x05X\x01\x00\x00\x001q\x0fh\x07K\x06tq\x10QK\x00h\x09h\x0a\x89h\x00)Rq\x11tq\x12Rq\x13u.";
const TORCH_STATE_P4: &[u8] = b"\x80\x04\x95\xc1\x00\x00\x00\x00\x00\x00\x00\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94(\x8c\x01w\x94\x8c\x0ctorch._utils\x94\x8c\x12_rebuild_tensor_v2\x94\x93\x94((\x8c\x07storage\x94\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94\x8c\x010\x94\x8c\x03cpu\x94K\x06t\x94QK\x00K\x02K\x03\x86\x94K\x03K\x01\x86\x94\x89h\x02)R\x94t\x94R\x94\x8c\x01b\x94h\x07((h\x08h\x0b\x8c\x011\x94h\x0dK\x06t\x94QK\x00h\x0fh\x10\x89h\x02)R\x94t\x94R\x94u.";
/// Legacy `torch.save` layout: magic, protocol 1001, sys_info, the state
/// dict above, storage keys ["0","1"], then raw storage whose u64 element
/// count (640) begins `80 02 00`, i.e. looks like PROTO 2 and then garbage.
const LEGACY_TORCH: &[u8] = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03X\x0d\x00\x00\x00little_endianq\x02\x88X\x0a\x00\x00\x00type_sizesq\x03}q\x04X\x05\x00\x00\x00shortq\x05K\x02su.\x80\x02ccollections\x0aOrderedDict\x0aq\x00)Rq\x01(X\x01\x00\x00\x00wq\x02ctorch._utils\x0a_rebuild_tensor_v2\x0aq\x03((X\x07\x00\x00\x00storageq\x04ctorch\x0aFloatStorage\x0aq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x06tq\x08QK\x00K\x02K\x03\x86q\x09K\x03K\x01\x86q\x0a\x89h\x00)Rq\x0btq\x0cRq\x0dX\x01\x00\x00\x00bq\x0eh\x03((h\x04h\x05X\x01\x00\x00\x001q\x0fh\x07K\x06tq\x10QK\x00h\x09h\x0a\x89h\x00)Rq\x11tq\x12Rq\x13u.\x80\x02]q\x00(X\x01\x00\x00\x000q\x01X\x01\x00\x00\x001q\x02e.\x80\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

fn run(bytes: &[u8]) -> ModelFacts {
    run_with(bytes, &Limits::default())
}

fn run_with(bytes: &[u8], limits: &Limits) -> ModelFacts {
    let mut reader = bytes;
    match inspect(&mut reader, bytes.len() as u64, "m.bin", limits) {
        Ok(facts) => facts,
        Err(e) => unreachable!("in-memory reads cannot fail: {e}"),
    }
}

fn run_zip(bytes: &[u8], limits: &Limits) -> ModelFacts {
    let mut reader = Cursor::new(bytes);
    match inspect_zip(&mut reader, bytes.len() as u64, "m.pt", limits) {
        Ok(facts) => facts,
        Err(e) => unreachable!("in-memory reads cannot fail: {e}"),
    }
}

fn codes(facts: &ModelFacts) -> Vec<&str> {
    facts.findings.iter().map(|f| f.code.as_str()).collect()
}

fn verdict(facts: &ModelFacts) -> Option<Severity> {
    facts
        .findings
        .iter()
        .find(|f| f.code == "pickle.code_execution")
        .map(|f| f.severity)
}

#[test]
fn reduce_payloads_in_every_protocol_are_errors() {
    for (protocol, bytes) in SYSTEM.iter().enumerate() {
        let facts = run(bytes);
        assert_eq!(
            facts.pickle_imports,
            ["posix.system"],
            "protocol {protocol}"
        );
        assert_eq!(
            codes(&facts),
            ["pickle.code_execution"],
            "protocol {protocol}"
        );
        assert_eq!(verdict(&facts), Some(Severity::Error));
        assert_eq!(facts.format, Format::Pickle);
        assert!(facts.warnings.iter().any(|w| w.contains("posix.system")));
    }
    assert_eq!(run(EVAL_P4).pickle_imports, ["builtins.eval"]);
    assert_eq!(verdict(&run(EVAL_P4)), Some(Severity::Error));
    assert_eq!(run(SUBPROCESS_P2).pickle_imports, ["commands.check_output"]);
}

#[test]
fn plain_containers_in_every_protocol_are_warnings() {
    for (protocol, bytes) in ODICT.iter().enumerate() {
        let facts = run(bytes);
        assert_eq!(
            facts.pickle_imports,
            ["collections.OrderedDict"],
            "protocol {protocol}"
        );
        assert_eq!(
            codes(&facts),
            ["pickle.code_execution"],
            "protocol {protocol}"
        );
        assert_eq!(
            verdict(&facts),
            Some(Severity::Warning),
            "protocol {protocol}"
        );
    }
}

#[test]
fn torch_state_dicts_are_warnings_with_their_imports() {
    for bytes in [TORCH_STATE_P2, TORCH_STATE_P4] {
        let facts = run(bytes);
        assert_eq!(
            facts.pickle_imports,
            [
                "collections.OrderedDict",
                "torch.FloatStorage",
                "torch._utils._rebuild_tensor_v2"
            ]
        );
        assert_eq!(codes(&facts), ["pickle.code_execution"]);
        assert_eq!(verdict(&facts), Some(Severity::Warning));
        assert_eq!(facts.training_framework.as_deref(), Some("pytorch"));
    }
}

#[test]
fn legacy_torch_stream_stops_before_raw_storage() {
    let facts = run(LEGACY_TORCH);
    assert_eq!(
        codes(&facts),
        ["pickle.code_execution"],
        "{:?}",
        facts.findings
    );
    assert_eq!(verdict(&facts), Some(Severity::Warning));
    assert_eq!(facts.pickle_imports.len(), 3);
    // Cut inside any of the five pickles: malformed. Cut in storage: fine.
    let storage_at = LEGACY_TORCH.len() - 32;
    for cut in [20, 100, storage_at - 1] {
        assert!(
            codes(&run(LEGACY_TORCH.get(..cut).unwrap_or_default())).contains(&"pickle.malformed"),
            "cut {cut}"
        );
    }
    assert_eq!(
        codes(&run(LEGACY_TORCH.get(..storage_at + 3).unwrap_or_default())),
        ["pickle.code_execution"]
    );
}

#[test]
fn stack_global_resolves_through_the_memo() {
    // Hand-built: push "os", "system", memoize both, pop them, get them back.
    let bytes = b"\x80\x04\x8c\x02os\x94\x8c\x06system\x9400h\x00h\x01\x93\x8c\x02id\x85R.";
    let facts = run(bytes);
    assert_eq!(facts.pickle_imports, ["os.system"]);
    assert_eq!(verdict(&facts), Some(Severity::Error));
    // PUT/GET (protocol 0) and LONG_BINPUT/LONG_BINGET work the same way.
    let bytes = b"\x80\x04\x8c\x02os\x94p7\n0\x8c\x06system\x94r\x09\x00\x00\x000g7\nj\x09\x00\x00\x00\x93N\x85R.";
    assert_eq!(run(bytes).pickle_imports, ["os.system"]);
}

#[test]
fn stack_global_uses_the_real_stack_not_the_last_strings_seen() {
    // Hand-built decoy: "os","system" stay on the stack; two safe-looking
    // strings are pushed and popped before STACK_GLOBAL.
    let bytes = b"\x80\x04\x8c\x02os\x8c\x06system\x8c\x0ctorch._utils\x8c\x12_rebuild_tensor_v200\x93N\x85R.";
    assert_eq!(run(bytes).pickle_imports, ["os.system"]);
}

#[test]
fn unresolvable_and_extension_imports_are_errors() {
    // STACK_GLOBAL over two integers.
    let facts = run(b"\x80\x04K\x01K\x02\x93N\x85R.");
    assert_eq!(facts.pickle_imports, ["<unresolved>"]);
    assert_eq!(verdict(&facts), Some(Severity::Error));
    // A name longer than any identifier is not resolved either.
    let mut long = b"\x80\x04\x8c\x05torch\x8d".to_vec();
    long.extend_from_slice(&2000u64.to_le_bytes());
    long.extend(std::iter::repeat_n(b'a', 2000));
    long.extend_from_slice(b"\x93.");
    assert_eq!(run(&long).pickle_imports, ["<unresolved>"]);
    // Escapes in protocol 0 strings are not decoded: unresolved, fail closed.
    assert_eq!(
        run(b"\x80\x04V\\u006fs\nVsystem\n\x93.").pickle_imports,
        ["<unresolved>"]
    );
    for (bytes, name) in [
        (b"\x80\x02\x82\x05).".as_slice(), "<ext:5>"),
        (b"\x80\x02\x83\x00\x01).", "<ext:256>"),
        (b"\x80\x02\x84\x01\x00\x00\x00).", "<ext:1>"),
    ] {
        let facts = run(bytes);
        assert_eq!(facts.pickle_imports, [name]);
        assert_eq!(verdict(&facts), Some(Severity::Error));
    }
}

#[test]
fn overlong_global_names_are_marked_and_never_allowed() {
    let mut bytes = b"\x80\x02ctorch._utils".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 5000));
    bytes.extend_from_slice(b"\n_rebuild_tensor_v2\n.");
    let facts = run(&bytes);
    assert!(
        facts
            .pickle_imports
            .first()
            .is_some_and(|n| n.ends_with("(truncated)"))
    );
    assert_eq!(verdict(&facts), Some(Severity::Error));
}

#[test]
fn inst_and_obj_are_recorded() {
    // Hand-built protocol 0 INST: os.system("id").
    let facts = run(b"(S'id'\nios\nsystem\n.");
    assert_eq!(facts.pickle_imports, ["os.system"]);
    assert_eq!(verdict(&facts), Some(Severity::Error));
    // OBJ with a class from GLOBAL.
    let facts = run(b"\x80\x02(cwebbrowser\nopen\nS'http://x'\no.");
    assert_eq!(facts.pickle_imports, ["webbrowser.open"]);
}

#[test]
fn malformed_pickles() {
    let cases: &[(&[u8], &str)] = &[
        (b"\x80\x02\xff.", "unknown opcode 0xff"),
        (b"\x80\x06N.", "unsupported protocol 6"),
        (b"\x80\x02N", "before STOP"),
        (b"\x80\x02.", "stack underflow"),
        (b"\x80\x02T\xff\xff\xff\xffN.", "negative length"),
        (b"\x80\x02h\x05.", "memo entry 5"),
        (b"\x80\x021N.", "no MARK"),
        (b"S'abc\nN.", "not quoted"),
        (b"\x80\x02\x82\x00).", "extension code 0"),
        (b"\x80\x02p-1\nN.", "memo index"),
        (b"", "before STOP"),
    ];
    for (bytes, message) in cases {
        let facts = run(bytes);
        let finding = facts.findings.iter().find(|f| f.code == "pickle.malformed");
        assert!(
            finding.is_some_and(|f| f.severity == Severity::Error && f.message.contains(message)),
            "{bytes:?}: {:?}",
            facts.findings
        );
    }
}

#[test]
fn huge_length_prefixes_are_rejected_without_reading() {
    for op in [0x8du8, 0x8e, 0x96] {
        let mut bytes = vec![0x80, 0x04, op];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        let facts = run(&bytes);
        assert!(
            facts.findings.iter().any(|f| f.code == "pickle.malformed"
                && f.message.contains("declares 18446744073709551615 bytes")),
            "{op:#x}"
        );
    }
    let facts = run(b"\x80\x04\x95\xff\xff\xff\xff\x00\x00\x00\x00N.");
    assert!(codes(&facts).contains(&"pickle.malformed"));
    let facts = run(b"\x80\x02X\xff\xff\xff\x7fabc");
    assert!(codes(&facts).contains(&"pickle.malformed"));
}

#[test]
fn truncation_at_every_offset_is_malformed() {
    for bytes in SYSTEM
        .iter()
        .chain(ODICT.iter())
        .chain([TORCH_STATE_P2, TORCH_STATE_P4, EVAL_P4].iter())
    {
        for cut in 0..bytes.len() {
            let facts = run(bytes.get(..cut).unwrap_or_default());
            assert!(
                codes(&facts).contains(&"pickle.malformed"),
                "cut {cut} of {bytes:?}"
            );
            assert!(
                facts
                    .findings
                    .iter()
                    .any(|f| f.code == "pickle.code_execution")
            );
        }
    }
}

#[test]
fn consecutive_pickles_and_trailing_data() {
    // Trailing bytes that do not start a pickle are not scanned.
    let mut bytes = ODICT[2].to_vec();
    bytes.extend_from_slice(b"\x00\x01raw storage");
    assert_eq!(codes(&run(&bytes)), ["pickle.code_execution"]);
    // A second, malicious pickle is found.
    let mut bytes = ODICT[2].to_vec();
    bytes.extend_from_slice(SYSTEM[4]);
    let facts = run(&bytes);
    assert_eq!(
        facts.pickle_imports,
        ["collections.OrderedDict", "posix.system"]
    );
    assert_eq!(verdict(&facts), Some(Severity::Error));
    // Something that starts like a pickle and breaks is a soft finding, and
    // imports seen before the break still count (CPython would have run them).
    let mut bytes = ODICT[2].to_vec();
    bytes.extend_from_slice(b"\x80\x02cos\nsystem\n\xff");
    let facts = run(&bytes);
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.code == "pickle.trailing_malformed" && f.severity == Severity::Warning)
    );
    assert!(facts.pickle_imports.contains(&"os.system".to_owned()));
}

#[test]
fn scan_budget_is_a_warning_and_makes_the_verdict_an_error() {
    let limits = Limits {
        pickle_max_scan_bytes: 40,
        ..Limits::default()
    };
    let facts = run_with(TORCH_STATE_P4, &limits);
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.code == "pickle.limit_exceeded" && f.severity == Severity::Warning)
    );
    assert_eq!(verdict(&facts), Some(Severity::Error));
}

#[test]
fn stack_growth_is_capped() {
    let mut bytes = vec![0x80, 0x02];
    bytes.extend(std::iter::repeat_n(b'N', (1 << 20) + 8));
    let facts = run(&bytes);
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.code == "pickle.limit_exceeded" && f.message.contains("stack"))
    );
    let mut bytes = vec![0x80, 0x02];
    bytes.extend(std::iter::repeat_n(b'(', (1 << 20) + 8));
    assert!(codes(&run(&bytes)).contains(&"pickle.limit_exceeded"));
}

#[test]
fn sniffing() {
    for bytes in SYSTEM
        .iter()
        .chain(ODICT.iter())
        .chain([TORCH_STATE_P2, LEGACY_TORCH].iter())
    {
        assert!(is_pickle_start(bytes), "{bytes:?}");
    }
    for bytes in [
        b"\x80\x01N.".as_slice(),
        b"\x80\x06N.",
        b"\x80\x02\xff",
        b"GGUF",
        b"{\"a\"",
        b"c\n\n",
        b"cos",
        b"PK\x03\x04",
        b"",
    ] {
        assert!(!is_pickle_start(bytes), "{bytes:?}");
    }
    assert!(is_zip(b"PK\x03\x04rest"));
    assert!(!is_zip(b"PK\x05\x06"));
}

/// A zip with the given (name, bytes, method) entries.
fn zip_of(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes, method) in entries {
        let started = writer.start_file(
            *name,
            SimpleFileOptions::default().compression_method(*method),
        );
        assert!(started.is_ok());
        assert!(writer.write_all(bytes).is_ok());
    }
    match writer.finish() {
        Ok(cursor) => cursor.into_inner(),
        Err(e) => unreachable!("writing to memory cannot fail: {e}"),
    }
}

#[test]
fn torch_zip_is_scanned() {
    let stored = CompressionMethod::Stored;
    let bytes = zip_of(&[
        ("archive/data.pkl", TORCH_STATE_P2, stored),
        ("archive/data/0", &[0u8; 24], stored),
        ("archive/version", b"3\n", stored),
    ]);
    let facts = run_zip(&bytes, &Limits::default());
    assert_eq!(facts.format, Format::PytorchZip);
    assert_eq!(codes(&facts), ["pickle.code_execution"]);
    assert_eq!(verdict(&facts), Some(Severity::Warning));
    assert_eq!(facts.pickle_imports.len(), 3);

    let bytes = zip_of(&[
        (
            "archive/data.pkl",
            TORCH_STATE_P4,
            CompressionMethod::Deflated,
        ),
        ("archive/extra.pkl", SYSTEM[2], stored),
    ]);
    let facts = run_zip(&bytes, &Limits::default());
    assert!(facts.pickle_imports.contains(&"posix.system".to_owned()));
    assert_eq!(verdict(&facts), Some(Severity::Error));
}

#[test]
fn zip_without_pickle_and_broken_zips() {
    let bytes = zip_of(&[("readme.txt", b"hi", CompressionMethod::Stored)]);
    assert_eq!(
        codes(&run_zip(&bytes, &Limits::default())),
        ["pickle.zip_no_pickle"]
    );
    let facts = run_zip(b"PK\x03\x04 not really a zip", &Limits::default());
    assert_eq!(codes(&facts), ["pickle.zip_malformed"]);
    // Every truncation of a real archive is reported, never a panic or an Err.
    let bytes = zip_of(&[(
        "archive/data.pkl",
        TORCH_STATE_P2,
        CompressionMethod::Deflated,
    )]);
    for cut in 0..bytes.len() {
        let facts = run_zip(bytes.get(..cut).unwrap_or_default(), &Limits::default());
        assert!(facts.worst_severity().is_some(), "cut {cut}");
    }
}

#[test]
fn zip_with_repeated_names_is_malformed() {
    let stored = CompressionMethod::Stored;
    let mut bytes = zip_of(&[
        ("archive/data.pkl", ODICT[2], stored),
        ("archive/data.pkX", SYSTEM[2], stored),
    ]);
    // Rename the second entry in both its local and central headers.
    let from = b"archive/data.pkX";
    let mut at = 0;
    while let Some(pos) = bytes
        .get(at..)
        .and_then(|rest| rest.windows(from.len()).position(|w| w == from))
    {
        if let Some(slot) = bytes.get_mut(at + pos + from.len() - 1) {
            *slot = b'l';
        }
        at += pos + 1;
    }
    let facts = run_zip(&bytes, &Limits::default());
    assert!(
        codes(&facts).contains(&"pickle.zip_malformed"),
        "{:?}",
        facts.findings
    );
}

#[test]
fn zip_bombs_are_bounded() {
    // 8 MiB of "N0" (NONE, POP) after PROTO: valid opcodes forever, deflated small.
    let mut endless = vec![0x80, 0x02];
    endless.extend(std::iter::repeat_n(*b"N0", 4 << 20).flatten());
    let bytes = zip_of(&[("archive/data.pkl", &endless, CompressionMethod::Deflated)]);
    assert!(bytes.len() < endless.len() / 100);
    let limits = Limits {
        pickle_max_scan_bytes: 1 << 20,
        ..Limits::default()
    };
    let facts = run_zip(&bytes, &limits);
    assert!(codes(&facts).contains(&"pickle.limit_exceeded"));
    assert!(codes(&facts).contains(&"pickle.zip_bomb"));
    assert_eq!(verdict(&facts), Some(Severity::Error));
}

#[test]
fn zip_entry_count_is_capped_before_indexing() {
    let names: Vec<String> = (0..50).map(|i| format!("archive/data/{i}")).collect();
    let entries: Vec<(&str, &[u8], CompressionMethod)> = names
        .iter()
        .map(|n| (n.as_str(), b"x".as_slice(), CompressionMethod::Stored))
        .collect();
    let bytes = zip_of(&entries);
    let limits = Limits {
        zip_max_entries: 10,
        ..Limits::default()
    };
    let facts = run_zip(&bytes, &limits);
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.code == "pickle.limit_exceeded" && f.message.contains("50 entries"))
    );
    assert_eq!(verdict(&facts), Some(Severity::Error));
    assert!(
        run_zip(&bytes, &Limits::default())
            .findings
            .iter()
            .all(|f| f.code == "pickle.zip_no_pickle")
    );
}

/// The zip index keeps every name of the central directory: what may be
/// read to build it is capped, and an archive of few entries with long
/// names is not scanned (a warning), however few its entries.
#[test]
fn zip_directory_bytes_are_capped_before_indexing() {
    let names: Vec<String> = (0..8)
        .map(|i| format!("archive/{i}/{}", "n".repeat(2_000)))
        .collect();
    let entries: Vec<(&str, &[u8], CompressionMethod)> = names
        .iter()
        .map(|n| (n.as_str(), b"x".as_slice(), CompressionMethod::Stored))
        .collect();
    let bytes = zip_of(&entries);
    let limits = Limits {
        zip_max_directory_bytes: 16 * 1024,
        ..Limits::default()
    };
    let facts = run_zip(&bytes, &limits);
    assert!(
        facts
            .findings
            .iter()
            .any(|f| f.code == "pickle.limit_exceeded"
                && f.message
                    .contains("central directory takes more than 16384 bytes")),
        "{:?}",
        facts.findings
    );
    assert!(
        run_zip(&bytes, &Limits::default())
            .findings
            .iter()
            .all(|f| f.code == "pickle.zip_no_pickle")
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let facts = run(&bytes);
        prop_assert!(verdict(&facts).is_some());
        let _ = run_zip(&bytes, &Limits::default());
    }

    #[test]
    fn opcode_soup_never_panics(body in proptest::collection::vec(prop::sample::select(b"()01NK\x8c\x94h\x93Rbo\x81\x92.tdlsaeu\x85\x86\x87q2".to_vec()), 0..256)) {
        let mut bytes = vec![0x80, 0x04];
        bytes.extend(body);
        let facts = run(&bytes);
        prop_assert!(verdict(&facts).is_some());
    }

    #[test]
    fn mutated_zips_never_panic(flips in proptest::collection::vec((0usize..400, any::<u8>()), 1..8)) {
        let mut bytes = zip_of(&[("archive/data.pkl", TORCH_STATE_P2, CompressionMethod::Deflated), ("archive/data/0", &[1u8; 24], CompressionMethod::Stored)]);
        let len = bytes.len();
        for (at, value) in flips {
            if let Some(slot) = bytes.get_mut(at % len) {
                *slot = value;
            }
        }
        let mut reader = Cursor::new(bytes.as_slice());
        let outcome = inspect_zip(&mut reader, bytes.len() as u64, "m.pt", &Limits::default());
        prop_assert!(outcome.is_ok(), "{:?}", outcome.err());
    }
}

/// `{"a": np.arange(3, dtype=float32), "s": np.float32(1.5)}`, numpy 2, protocols 4 and 2.
const NUMPY_P4: &[u8] = b"\x80\x04\x95\xbb\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x03\x85\x94h\x05\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x0c\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x94t\x94b\x8c\x01s\x94h\x02\x8c\x06scalar\x94\x93\x94h\x11C\x04\x00\x00\xc0?\x94\x86\x94R\x94u.";
const NUMPY_P2: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01cnumpy._core.multiarray\x0a_reconstruct\x0aq\x02cnumpy\x0andarray\x0aq\x03K\x00\x85q\x04c_codecs\x0aencode\x0aq\x05X\x01\x00\x00\x00bq\x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\x09\x87q\x0aRq\x0b(K\x01K\x03\x85q\x0ccnumpy\x0adtype\x0aq\x0dX\x02\x00\x00\x00f4q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\x00\x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\x0d\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2\x80?\x00\x00\x00@q\x13h\x07\x86q\x14Rq\x15tq\x16bX\x01\x00\x00\x00sq\x17cnumpy._core.multiarray\x0ascalar\x0aq\x18h\x10h\x05X\x05\x00\x00\x00\x00\x00\xc3\x80?q\x19h\x07\x86q\x1aRq\x1b\x86q\x1cRq\x1du.";

#[test]
fn numpy_arrays_are_warnings_in_every_protocol() {
    let facts = run(NUMPY_P4);
    assert_eq!(
        facts.pickle_imports,
        [
            "numpy._core.multiarray._reconstruct",
            "numpy._core.multiarray.scalar",
            "numpy.dtype",
            "numpy.ndarray"
        ]
    );
    assert_eq!(verdict(&facts), Some(Severity::Warning));
    // Protocol 2 spells bytes as _codecs.encode(str, "latin1"), which
    // torch's weights_only loader allows (issue 20 item 4): a warning too.
    let facts = run(NUMPY_P2);
    assert!(facts.pickle_imports.contains(&"_codecs.encode".to_owned()));
    assert_eq!(verdict(&facts), Some(Severity::Warning));
}

// ---- every place a pickle hides, by content (issue 20 item 3) ----------

/// `m` wrapped in `depth` zips, each holding the one inside as `name`.
fn nested(inner: Vec<u8>, depth: usize, name: &str, method: CompressionMethod) -> Vec<u8> {
    (0..depth).fold(inner, |bytes, _| zip_of(&[(name, &bytes, method)]))
}

#[test]
fn a_pickle_is_found_in_a_zip_whatever_its_name_and_however_deep() {
    let names = [
        "archive/extra.pkl",
        "archive/config.json",
        "archive/weights",
        "data.txt",
        "archive/data/0",
        "a/b/c/d/model.bin",
    ];
    for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
        for name in names {
            for (protocol, payload) in SYSTEM.iter().enumerate() {
                let torch = zip_of(&[
                    ("archive/data.pkl", TORCH_STATE_P2, method),
                    (name, payload, method),
                ]);
                for depth in 0..4 {
                    let outer_name = if depth % 2 == 0 { "inner.zip" } else { "x.bin" };
                    let bytes = nested(torch.clone(), depth, outer_name, method);
                    let facts = run_zip(&bytes, &Limits::default());
                    assert_eq!(
                        verdict(&facts),
                        Some(Severity::Error),
                        "{name} protocol {protocol} depth {depth} {method:?}: {:?}",
                        facts.findings
                    );
                    assert!(facts.pickle_imports.contains(&"posix.system".to_owned()));
                }
            }
        }
    }
}

#[test]
fn benign_archives_nested_or_not_are_warnings_and_data_is_not_a_pickle() {
    let stored = CompressionMethod::Stored;
    // Tensor data that starts like a pickle by chance (PROTO 2 then junk)
    // is not one: no error, no finding about it.
    let torch = zip_of(&[
        ("archive/data.pkl", TORCH_STATE_P4, stored),
        (
            "archive/data/0",
            b"\x80\x02\x00\x00\x00\x00\x00\x00\x00\x00",
            stored,
        ),
        ("archive/data/1", b"(d\xff\xff\xff\xff", stored),
        ("archive/version", b"3\n", stored),
    ]);
    for depth in 0..4 {
        let facts = run_zip(
            &nested(torch.clone(), depth, "m.zip", stored),
            &Limits::default(),
        );
        assert_eq!(codes(&facts), ["pickle.code_execution"], "depth {depth}");
        assert_eq!(verdict(&facts), Some(Severity::Warning));
    }
}

#[test]
fn nesting_past_the_limit_is_an_error() {
    let torch = zip_of(&[(
        "archive/data.pkl",
        TORCH_STATE_P2,
        CompressionMethod::Stored,
    )]);
    let facts = run_zip(
        &nested(torch, 12, "z.zip", CompressionMethod::Stored),
        &Limits::default(),
    );
    assert!(
        codes(&facts).contains(&"pickle.limit_exceeded"),
        "{:?}",
        facts.findings
    );
    assert_eq!(verdict(&facts), Some(Severity::Error));
}

#[test]
fn nested_archives_share_one_memory_budget() {
    // A nested zip larger than what is left of the budget is not read:
    // fail closed, without holding it.
    let big = zip_of(&[
        (
            "archive/data.pkl",
            TORCH_STATE_P2,
            CompressionMethod::Stored,
        ),
        (
            "archive/data/0",
            &vec![7u8; 300_000],
            CompressionMethod::Stored,
        ),
    ]);
    let bytes = nested(big, 1, "big.zip", CompressionMethod::Deflated);
    let limits = Limits {
        pickle_max_scan_bytes: 100_000,
        ..Limits::default()
    };
    let facts = run_zip(&bytes, &limits);
    assert!(
        codes(&facts).contains(&"pickle.limit_exceeded"),
        "{:?}",
        facts.findings
    );
    assert_eq!(verdict(&facts), Some(Severity::Error));
}

/// `bytes` compressed by an independent encoder (flate2, bzip2).
fn compress(kind: Compression, bytes: &[u8]) -> Vec<u8> {
    fn finish<W: Write>(
        mut w: W,
        bytes: &[u8],
        done: impl FnOnce(W) -> std::io::Result<Vec<u8>>,
    ) -> Vec<u8> {
        assert!(w.write_all(bytes).is_ok());
        done(w).unwrap_or_default()
    }
    let level = flate2::Compression::default();
    match kind {
        Compression::Zlib => finish(
            flate2::write::ZlibEncoder::new(Vec::new(), level),
            bytes,
            |w| w.finish(),
        ),
        Compression::Gzip => finish(
            flate2::write::GzEncoder::new(Vec::new(), level),
            bytes,
            |w| w.finish(),
        ),
        Compression::Bzip2 => finish(
            bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default()),
            bytes,
            |w| w.finish(),
        ),
        // lzma and xz files come from Python's lzma module in the threat
        // corpus (tests/threat_corpus.rs).
        Compression::Lzma | Compression::Xz => unreachable!("not written here"),
    }
}

fn run_compressed(bytes: &[u8], limits: &Limits) -> Option<ModelFacts> {
    let kind = sniff_compression(bytes)?;
    let mut reader = bytes;
    match inspect_compressed(&mut reader, kind, bytes.len() as u64, "m.joblib", limits) {
        Ok(facts) => facts,
        Err(e) => unreachable!("in-memory reads cannot fail: {e}"),
    }
}

#[test]
fn compressed_pickles_are_scanned_decompressed() {
    for kind in [Compression::Zlib, Compression::Gzip, Compression::Bzip2] {
        for (protocol, payload) in SYSTEM.iter().enumerate() {
            let bytes = compress(kind, payload);
            assert_eq!(sniff_compression(&bytes), Some(kind));
            let facts = run_compressed(&bytes, &Limits::default());
            assert_eq!(
                facts.as_ref().and_then(verdict),
                Some(Severity::Error),
                "{kind:?} protocol {protocol}"
            );
            assert_eq!(facts.map(|f| f.format), Some(Format::Pickle));
        }
        let facts = run_compressed(&compress(kind, ODICT[2]), &Limits::default());
        assert_eq!(
            facts.as_ref().and_then(verdict),
            Some(Severity::Warning),
            "{kind:?}"
        );
        // Compressed bytes that are not a pickle are not described as one.
        assert!(run_compressed(&compress(kind, b"just some text"), &Limits::default()).is_none());
    }
}

#[test]
fn decompression_is_bounded() {
    // A pickle that declares a 4 GiB bytes object, compressed from zeros:
    // the walker reads at most its budget of decompressed bytes and the
    // verdict is an error (fail closed), not a 4 GiB inflation.
    let mut payload = b"\x80\x04\x8e".to_vec();
    payload.extend((4u64 << 30).to_le_bytes());
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    assert!(encoder.write_all(&payload).is_ok());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        assert!(encoder.write_all(&zeros).is_ok());
    }
    let bytes = encoder.finish().unwrap_or_default();
    let limits = Limits {
        pickle_max_scan_bytes: 4 << 20,
        ..Limits::default()
    };
    let facts = run_compressed(&bytes, &limits);
    assert_eq!(facts.as_ref().and_then(verdict), Some(Severity::Error));
    assert!(facts.is_some_and(|f| codes(&f).contains(&"pickle.limit_exceeded")),);
}

/// Tensor data that starts with GLOBAL's byte and holds two newlines (the
/// case proptest found: `c` `A\n` `\n`) names no importable global: no
/// error. The same entry naming `os.system` is still a pickle.
#[test]
fn a_global_byte_in_tensor_data_is_a_pickle_only_when_it_names_python() {
    let run = |data: &[u8]| {
        let refs: Vec<(&str, &[u8], CompressionMethod)> = vec![
            (
                "archive/data.pkl",
                TORCH_STATE_P2,
                CompressionMethod::Stored,
            ),
            ("archive/data/0", data, CompressionMethod::Stored),
        ];
        verdict(&run_zip(&zip_of(&refs), &Limits::default()))
    };
    assert_ne!(run(b"cA\n\n"), Some(Severity::Error));
    assert_ne!(run(b"c\x01\xfe\n\x07x\n\x00"), Some(Severity::Error));
    assert_eq!(run(b"cos\nsystem\n(S'id'\ntR."), Some(Severity::Error));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random tensor data in a benign torch zip never raises an error.
    #[test]
    fn random_entries_beside_a_benign_pickle_are_no_error(
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 1..8),
        lead in prop::sample::select(vec![0x80u8, b'(', b'}', b']', b'c', 0]),
    ) {
        let mut owned: Vec<(String, Vec<u8>)> = vec![("archive/data.pkl".into(), TORCH_STATE_P2.to_vec())];
        for (i, mut e) in entries.into_iter().enumerate() {
            e.insert(0, lead);
            owned.push((format!("archive/data/{i}"), e));
        }
        let refs: Vec<(&str, &[u8], CompressionMethod)> = owned
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice(), CompressionMethod::Stored))
            .collect();
        let facts = run_zip(&zip_of(&refs), &Limits::default());
        prop_assert!(verdict(&facts) != Some(Severity::Error), "{:?}", facts.findings);
    }
}
