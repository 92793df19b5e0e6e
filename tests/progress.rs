//! Long work shows progress (issue 16 item 3): on a terminal, pack,
//! verify, import and audit draw one bar with the total, the percentage,
//! the rate and the time left; in a pipe or with `-q` they draw nothing.
//! The terminal is a real pseudo-terminal (tests/tools/pty_run.py, Python's
//! `pty`), so what is checked is what a person sees.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{TestResult, fail, policy_init_args, python_tool, repo, run_bounded};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `lbom ARGS` on a pseudo-terminal 200 columns wide: everything it drew,
/// and its exit code (from the helper's last line).
fn on_terminal(dir: &Path, args: &[&OsStr]) -> Res<(String, i32)> {
    let mut full: Vec<&OsStr> = vec!["200".as_ref(), env!("CARGO_BIN_EXE_lbom").as_ref()];
    full.extend(args);
    let script = repo().join("tests/tools/pty_run.py");
    let mut cmd = std::process::Command::new(common::venv()?.join("bin/python"));
    cmd.arg(script)
        .args(&full)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("TERM", "xterm");
    let run = run_bounded(&mut cmd, Duration::from_secs(300))?;
    Ok((
        String::from_utf8_lossy(&run.stdout).into_owned(),
        run.code().unwrap_or(-1),
    ))
}

/// The same command in a pipe (stdout and stderr are files).
fn in_pipe<I, S>(dir: &Path, args: I) -> Res<common::Run>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = common::lbom(args);
    cmd.current_dir(dir).env_remove("SOURCE_DATE_EPOCH");
    run_bounded(&mut cmd, Duration::from_secs(300))
}

/// What a bar line shows: "<what> [", "%", a rate and "eta".
fn has_bar(screen: &str, what: &str) -> bool {
    screen.contains(&format!("{what} ["))
        && screen.contains('%')
        && screen.contains("/s")
        && screen.contains("eta")
        && screen.contains("MiB")
}

/// A 48 MiB model folder (text, so a default policy takes it) packed
/// uncompressed, a policy, and a store.
fn setup(dir: &Path) -> Res<(PathBuf, PathBuf)> {
    let model = dir.join("model");
    std::fs::create_dir(&model)?;
    let line = b"the quick brown fox jumps over the lazy dog 0123456789\n";
    let text: Vec<u8> = line.iter().copied().cycle().take(48 << 20).collect();
    std::fs::write(model.join("corpus.txt"), text)?;
    python_tool::<&str>(
        "real_hf_folder.py",
        &[model.join("hf").to_str().unwrap_or("hf")],
    )?;
    let policy = demo_maintainer_policy(dir)?;
    Ok((model, policy))
}

/// `dir/p.toml`, a policy trusting the demo maintainer key.
fn demo_maintainer_policy(dir: &Path) -> Res<PathBuf> {
    let policy = dir.join("p.toml");
    let key = repo().join("keys/demo-maintainer.pub");
    let init = in_pipe(dir, policy_init_args(&policy, &key, "maintainer"))?;
    if init.code() != Some(0) {
        return Err(fail(init.stderr));
    }
    Ok(policy)
}

#[test]
fn a_terminal_sees_one_bar_per_long_command_and_a_pipe_none() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let (model, policy) = setup(d)?;
    let key = repo().join("keys/demo-maintainer.key");
    let pack: Vec<&OsStr> = vec![
        "pack".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        "b.lbom".as_ref(),
        "--compress".as_ref(),
        "none".as_ref(),
        "--key".as_ref(),
        key.as_os_str(),
        "--role".as_ref(),
        "maintainer".as_ref(),
    ];
    let (screen, code) = on_terminal(d, &pack)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "packing"), "{screen}");

    let verify: Vec<&OsStr> = vec![
        "verify".as_ref(),
        "b.lbom".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ];
    let (screen, code) = on_terminal(d, &verify)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "verifying"), "{screen}");
    // The report names who signed.
    assert!(
        screen.contains("signed    #1 maintainer by m ("),
        "{screen}"
    );

    let import: Vec<&OsStr> = vec![
        "import".as_ref(),
        "b.lbom".as_ref(),
        "--into".as_ref(),
        "store".as_ref(),
        "--create".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ];
    let (screen, code) = on_terminal(d, &import)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "importing"), "{screen}");

    let audit: Vec<&OsStr> = vec!["audit".as_ref(), "store".as_ref()];
    let (screen, code) = on_terminal(d, &audit)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "auditing"), "{screen}");

    // -q on a terminal, and any pipe: no bar.
    let quiet: Vec<&OsStr> = [&["-q".as_ref()][..], &verify].concat();
    let (screen, code) = on_terminal(d, &quiet)?;
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("verifying ["), "{screen}");
    let piped = in_pipe(d, &verify)?;
    assert_eq!(piped.code(), Some(0), "{}", piped.stderr);
    assert!(!piped.stderr.contains('['), "{}", piped.stderr);
    assert!(!String::from_utf8_lossy(&piped.stdout).contains("eta"));
    Ok(())
}

#[test]
fn a_failed_verify_says_why_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let model = d.join("m");
    std::fs::create_dir(&model)?;
    std::fs::write(model.join("a.txt"), b"hello\n")?;
    // Signed by a key the policy does not trust: refused at chain.signers.
    let key = repo().join("keys/demo-transfer.key");
    let packed = in_pipe(
        d,
        [
            "pack".as_ref(),
            model.as_os_str(),
            "-o".as_ref(),
            "b.lbom".as_ref(),
            "--key".as_ref(),
            key.as_os_str(),
            "--role".as_ref(),
            "transfer".as_ref(),
        ],
    )?;
    assert_eq!(packed.code(), Some(0), "{}", packed.stderr);
    let policy = demo_maintainer_policy(d)?;
    let args: Vec<&OsStr> = vec![
        "verify".as_ref(),
        "b.lbom".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ];
    let run = in_pipe(d, &args)?;
    assert_eq!(run.code(), Some(5));
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(!out.contains("skip"), "{out}");
    let fails: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("chain.signers"))
        .collect();
    assert_eq!(fails.len(), 2, "the FAIL row and the REFUSED line: {out}");
    assert!(
        out.lines()
            .last()
            .is_some_and(|l| l.starts_with("REFUSED b.lbom: chain.signers failed: ")),
        "{out}"
    );
    assert!(
        !run.stderr.contains("chain.signers"),
        "repeated on stderr: {}",
        run.stderr
    );
    // --verbose keeps the skipped checks, and JSON names every check.
    let verbose: Vec<&OsStr> = [&args[..], &["--verbose".as_ref()]].concat();
    let out = String::from_utf8_lossy(&in_pipe(d, &verbose)?.stdout).into_owned();
    assert!(out.contains("skip  "), "{out}");
    let json: Vec<&OsStr> = [&args[..], &["--format".as_ref(), "json".as_ref()]].concat();
    let v = in_pipe(d, &json)?.json()?;
    assert!(v.get("checks").and_then(|c| c.as_array()).is_some_and(|c| {
        c.iter()
            .any(|c| c.get("status").and_then(|s| s.as_str()) == Some("skipped"))
    }));
    Ok(())
}

#[test]
fn an_encrypted_key_asks_for_its_passphrase_on_a_terminal_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let mut keygen = common::lbom(["keygen", "enc", "--passphrase-env", "LBOM_TEST_PASS"]);
    keygen.current_dir(d).env("LBOM_TEST_PASS", "correct horse");
    let run = run_bounded(&mut keygen, Duration::from_secs(60))?;
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let model = d.join("m");
    std::fs::create_dir(&model)?;
    std::fs::write(model.join("a.txt"), b"hello\n")?;
    let packed = in_pipe(
        d,
        [
            "pack".as_ref(),
            model.as_os_str(),
            "-o".as_ref(),
            "b.lbom".as_ref(),
        ],
    )?;
    assert_eq!(packed.code(), Some(0), "{}", packed.stderr);
    let sign: Vec<&OsStr> = vec![
        "sign".as_ref(),
        "b.lbom".as_ref(),
        "--key".as_ref(),
        "enc.key".as_ref(),
        "--role".as_ref(),
        "transfer".as_ref(),
    ];
    // In a pipe: an error that names the option, nothing written.
    let piped = in_pipe(d, &sign)?;
    assert_eq!(piped.code(), Some(5), "{}", piped.stderr);
    assert!(
        piped.stderr.contains("--passphrase-env"),
        "{}",
        piped.stderr
    );
    // On a terminal: asked, without echo, and signed.
    let script = repo().join("tests/tools/pty_run.py");
    let mut cmd = std::process::Command::new(common::venv()?.join("bin/python"));
    cmd.arg(script)
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_lbom"))
        .args(&sign)
        .current_dir(d)
        .env("PTY_ANSWER", "correct horse");
    let run = run_bounded(&mut cmd, Duration::from_secs(120))?;
    let screen = String::from_utf8_lossy(&run.stdout).into_owned();
    assert_eq!(run.code(), Some(0), "{screen}");
    assert!(screen.contains("Passphrase for enc.key: "), "{screen}");
    assert!(
        !screen.contains("correct horse"),
        "the passphrase was echoed: {screen}"
    );
    assert!(screen.contains("link 1 signed as transfer"), "{screen}");
    Ok(())
}

#[test]
fn completions_and_man_pages_come_from_the_command_definitions() -> TestResult {
    let dir = tempfile::tempdir()?;
    for (shell, marker) in [
        ("bash", "_lbom()"),
        ("zsh", "#compdef lbom"),
        ("fish", "complete -c lbom"),
    ] {
        let run = in_pipe(dir.path(), ["completions", shell])?;
        assert_eq!(run.code(), Some(0), "{}", run.stderr);
        let script = String::from_utf8_lossy(&run.stdout).into_owned();
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(script.contains("accept-drift"), "{shell}");
    }
    let man = dir.path().join("man");
    let run = in_pipe(dir.path(), ["man".as_ref(), man.as_os_str()])?;
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    for page in [
        "lbom.1",
        "lbom-verify.1",
        "lbom-import.1",
        "lbom-store-init.1",
    ] {
        let text = std::fs::read_to_string(man.join(page))?;
        assert!(text.contains(".TH"), "{page}");
    }
    let verify = std::fs::read_to_string(man.join("lbom-verify.1"))?;
    assert!(
        verify.contains("lbom verify my\\-model.lbom"),
        "no example in the man page"
    );
    Ok(())
}

/// What a medium's bar line shows: "<label> [" and a byte count.
fn has_medium_bar(screen: &str, label: &str) -> bool {
    screen.contains(&format!("{label} [")) && screen.contains("MiB")
}

/// The part set commands (issue 17) draw one bar over the whole work and
/// one per medium under it on a terminal: `pack --split` and `split` per
/// medium folder written, `verify-parts`, `repair` and `join` per part
/// read or rebuilt; `-q` and a pipe draw none.
#[test]
fn part_set_commands_draw_a_bar_per_medium_on_a_terminal_only() -> TestResult {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let (model, _) = setup(d)?;
    let transfer = repo().join("keys/demo-transfer.key");
    let policy = d.join("parts.toml");
    let init = in_pipe(
        d,
        policy_init_args(&policy, &repo().join("keys/demo-transfer.pub"), "transfer"),
    )?;
    assert_eq!(init.code(), Some(0), "{}", init.stderr);
    let cut: [&OsStr; 8] = [
        "--parity".as_ref(),
        "1".as_ref(),
        "--split-key".as_ref(),
        transfer.as_os_str(),
        "--split-role".as_ref(),
        "transfer".as_ref(),
        "--compress".as_ref(),
        "none".as_ref(),
    ];
    let mut pack: Vec<&OsStr> = vec![
        "pack".as_ref(),
        model.as_os_str(),
        "-o".as_ref(),
        "packed/m.lbom".as_ref(),
        "--split".as_ref(),
        "16M".as_ref(),
    ];
    pack.extend(cut);
    let (screen, code) = on_terminal(d, &pack)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "packing"), "{screen}");
    assert!(has_medium_bar(&screen, "medium-0001"), "{screen}");
    assert!(has_medium_bar(&screen, "medium-0002"), "{screen}");

    let check = |what: &str| -> Vec<std::ffi::OsString> {
        [what, "packed", "--policy"]
            .iter()
            .map(Into::into)
            .chain([policy.clone().into_os_string()])
            .collect()
    };
    let verify = check("verify-parts");
    let verify: Vec<&OsStr> = verify.iter().map(AsRef::as_ref).collect();
    let (screen, code) = on_terminal(d, &verify)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "checking parts"), "{screen}");
    assert!(has_medium_bar(&screen, ".part0001"), "{screen}");
    assert!(has_medium_bar(&screen, ".parity0001"), "{screen}");

    // -q on a terminal, and any pipe: no bar.
    let quiet: Vec<&OsStr> = [&["-q".as_ref()][..], &verify].concat();
    let (screen, code) = on_terminal(d, &quiet)?;
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains(".part0001 ["), "{screen}");
    let piped = in_pipe(d, &verify)?;
    assert_eq!(piped.code(), Some(0), "{}", piped.stderr);
    assert!(!piped.stderr.contains('['), "{}", piped.stderr);

    // One part gone: repair rebuilds it, join reads through the gap.
    let part = std::fs::read_dir(d.join("packed/medium-0002"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".part0002"))
        .ok_or_else(|| fail("no part 2"))?;
    std::fs::remove_file(&part)?;
    let mut repair = check("repair");
    repair.extend(["-o".into(), "fixed".into()]);
    let repair: Vec<&OsStr> = repair.iter().map(AsRef::as_ref).collect();
    let (screen, code) = on_terminal(d, &repair)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "rebuilding"), "{screen}");
    assert!(has_medium_bar(&screen, ".part0002"), "{screen}");
    let mut join = check("join");
    join.extend(["-o".into(), "joined.lbom".into()]);
    let join: Vec<&OsStr> = join.iter().map(AsRef::as_ref).collect();
    let (screen, code) = on_terminal(d, &join)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "joining"), "{screen}");
    assert!(has_medium_bar(&screen, ".part0003"), "{screen}");

    let split: Vec<&OsStr> = vec![
        "split".as_ref(),
        "joined.lbom".as_ref(),
        "-o".as_ref(),
        "again".as_ref(),
        "--size".as_ref(),
        "16M".as_ref(),
        "--key".as_ref(),
        transfer.as_os_str(),
        "--role".as_ref(),
        "transfer".as_ref(),
    ];
    let (screen, code) = on_terminal(d, &split)?;
    assert_eq!(code, 0, "{screen}");
    assert!(has_bar(&screen, "splitting"), "{screen}");
    assert!(has_medium_bar(&screen, "medium-0002"), "{screen}");
    Ok(())
}
