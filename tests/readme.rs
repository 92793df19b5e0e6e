//! The README stays true: its quick start is exactly `make demo` and
//! `make test`, `make demo` works, and every `lbom` command it shows uses a
//! subcommand and flags that exist.

mod common;

use std::path::Path;
use std::process::Command;

use common::markdown::sh_blocks;

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .unwrap_or_default()
}

#[test]
fn quick_start_is_exactly_two_commands() {
    let text = readme();
    let start = text.find("## Quick start").unwrap_or(text.len());
    let blocks = sh_blocks(text.get(start..).unwrap_or_default());
    assert_eq!(
        blocks.first().map(Vec::as_slice),
        Some(&["make demo".to_owned(), "make test".to_owned()][..])
    );
}

#[test]
fn every_lbom_command_shown_exists_with_its_flags() {
    let bin = env!("CARGO_BIN_EXE_lbom");
    let mut checked = 0;
    for line in sh_blocks(&readme()).into_iter().flatten() {
        // Drop a leading `VAR=value` and a trailing comment.
        let code = line.split(" #").next().unwrap_or_default();
        let words: Vec<&str> = code
            .split_whitespace()
            .skip_while(|w| w.contains('='))
            .collect();
        if words.first() != Some(&"lbom") {
            continue;
        }
        let sub = words.get(1).copied().unwrap_or_default();
        // Commands with subcommands (`lbom policy init`): the flags are
        // the nested command's.
        let mut path = vec![sub];
        if sub == "policy" {
            path.extend(words.get(2).copied());
        }
        let sub = path.join(" ");
        let help = Command::new(bin).args(&path).arg("--help").output();
        let help = help.map(|o| {
            (
                o.status.success(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
            )
        });
        let Ok((true, help)) = help else {
            panic!("README shows `lbom {sub}`, which does not exist: {line}")
        };
        for flag in words.iter().filter(|w| w.starts_with("--")) {
            let flag = flag.split('=').next().unwrap_or_default();
            assert!(
                help.contains(flag),
                "README shows `{flag}` for `lbom {sub}`, which has no such flag: {line}"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 10,
        "only {checked} lbom commands found in README"
    );
}

#[test]
fn make_demo_runs() -> Result<(), Box<dyn std::error::Error>> {
    // The test binary is already built: neutralise the build step (CARGO=true)
    // and point the Makefile at this build of lbom.
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("make")
        .args(["-C", root, "demo", "CARGO=true"])
        .arg(format!("LBOM={}", env!("CARGO_BIN_EXE_lbom")))
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => panic!("could not run make: {e}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "make demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("tiny-llama-Q4_K_M.gguf"), "{stdout}");
    assert!(stdout.contains("UNTRUSTED"), "{stdout}");
    for file in [
        "scan.json",
        "scan.spdx",
        "scan.spdx.json",
        "scan.cdx.json",
        "README.md",
        "demo-v1.lbom",
        "demo-v2.lbom",
        "drift-v2.md",
    ] {
        assert!(
            Path::new(root).join("out/demo").join(file).is_file(),
            "make demo did not write {file}"
        );
    }
    // The demo ends with the second release imported after its drift was
    // accepted, and the drift review names both changes.
    let store = Path::new(root).join("out/demo/store");
    let current = lbom::import::layout::Store::open(&store)?.current("demo")?;
    assert_eq!(current, Some(2), "make demo did not import release 2");
    let review =
        std::fs::read_to_string(Path::new(root).join("out/demo/drift-v2.md")).unwrap_or_default();
    for class in ["quantization", "chat_template"] {
        assert!(
            review.contains(class),
            "drift-v2.md does not name {class}:\n{review}"
        );
    }
    Ok(())
}
