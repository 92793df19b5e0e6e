//! Mistakes are caught where they are made (issue 16 item 2): each test
//! makes one mistake an operator makes and checks the message and the exit
//! code. (A bundle cut short in a copy, told from a torn sign: in
//! tests/cli_bundle.rs, `a_copy_cut_short_is_named_as_such_and_sign_never_removes_a_complete_link`.)

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Run, TestResult, fail, fixture, repo, run_bounded};

const LIMIT: Duration = Duration::from_secs(120);

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// `lbom ARGS` in `dir`, with the real clock (bundles must not be 56 years
/// old for a default policy).
fn lbom_in<I, S>(dir: &Path, args: I) -> Res<Run>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = common::lbom(args);
    cmd.current_dir(dir).env_remove("SOURCE_DATE_EPOCH");
    run_bounded(&mut cmd, LIMIT)
}

fn ok(run: Res<Run>, what: &str) -> Res<Run> {
    let run = run?;
    if run.code() != Some(0) {
        return Err(fail(format!(
            "{what} exited {:?}: {}",
            run.code(),
            run.stderr
        )));
    }
    Ok(run)
}

fn demo_key(name: &str) -> PathBuf {
    repo().join("keys").join(name)
}

fn stdout(run: &Run) -> String {
    String::from_utf8_lossy(&run.stdout).into_owned()
}

/// A maintainer-signed bundle of `model` named `name` on `channel`.
fn pack(dir: &Path, out: &str, model: &Path, extra: &[&str]) -> Res<PathBuf> {
    let bundle = dir.join(out);
    let mut args: Vec<&OsStr> = vec!["pack".as_ref(), "-q".as_ref(), model.as_os_str()];
    args.extend(["-o".as_ref(), bundle.as_os_str()]);
    let key = demo_key("demo-maintainer.key");
    args.extend(["--key".as_ref(), key.as_os_str()]);
    args.extend([OsStr::new("--role"), OsStr::new("maintainer")]);
    args.extend(extra.iter().map(OsStr::new));
    ok(lbom_in(dir, &args), "pack")?;
    Ok(bundle)
}

/// A temporary folder holding `b.lbom`: the tiny safetensors model, signed
/// by the demo maintainer.
fn tiny_bundle() -> Res<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let bundle = pack(
        dir.path(),
        "b.lbom",
        &fixture("safetensors/tiny-llama"),
        &[],
    )?;
    Ok((dir, bundle))
}

/// `lbom policy init -o OUT` trusting the demo maintainer key as `roles`.
fn policy_init(dir: &Path, out: &Path, roles: &str) -> Res<Run> {
    let key = demo_key("demo-maintainer.pub");
    ok(
        lbom_in(dir, common::policy_init_args(out, &key, roles)),
        "policy init",
    )
}

/// A policy trusting the demo maintainer key, written into `dir`.
fn policy(dir: &Path) -> Res<PathBuf> {
    let p = dir.join("station.toml");
    policy_init(dir, &p, "maintainer")?;
    Ok(p)
}

fn import(dir: &Path, bundle: &Path, store: &Path, policy: &Path, extra: &[&str]) -> Res<Run> {
    let mut args: Vec<&OsStr> = vec![
        "import".as_ref(),
        bundle.as_os_str(),
        "--into".as_ref(),
        store.as_os_str(),
        "--policy".as_ref(),
        policy.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    lbom_in(dir, &args)
}

/// `lbom COMMAND STORE ARGS…` in `dir`.
fn on_store(dir: &Path, command: &str, store: &Path, args: &[&str]) -> Res<Run> {
    let mut all: Vec<&OsStr> = vec![command.as_ref(), store.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    lbom_in(dir, &all)
}

/// `--accept-drift CLASS` for every drift class.
fn accepting_all_drift() -> Vec<&'static str> {
    lbom::DriftClass::ALL
        .iter()
        .flat_map(|c| ["--accept-drift", c.as_str()])
        .collect()
}

/// Releases of one model on channel `stable`, packed in `dir` as v1.lbom,
/// v2.lbom, … from the fixtures `models`, each `--previous` the one before,
/// and imported in order into `dir/store` (the first with `--create`, the
/// later ones accepting every drift class). Returns the store and the
/// policy.
fn imported_releases(dir: &Path, models: &[&str]) -> Res<(PathBuf, PathBuf)> {
    let policy = policy(dir)?;
    let store = dir.join("store");
    for (n, model) in models.iter().enumerate() {
        let name = format!("v{}.lbom", n + 1);
        let previous = format!("v{n}.lbom");
        let (extra, accept) = match n {
            0 => (vec!["--channel", "stable"], vec!["--create"]),
            _ => (vec!["--previous", previous.as_str()], accepting_all_drift()),
        };
        let bundle = pack(dir, &name, &fixture(model), &extra)?;
        ok(
            import(dir, &bundle, &store, &policy, &accept),
            &format!("import {name}"),
        )?;
    }
    Ok((store, policy))
}

#[test]
fn relative_trust_key_paths_work_wherever_the_policy_goes() -> TestResult {
    // Every combination of where lbom runs, where the key is named from
    // and where the policy is written: init succeeds, writes a relative
    // path when given one, and the policy loads from anywhere and trusts
    // that key (verify of a bundle signed by another key fails on the
    // signer, exit 5, not on the policy, exit 2 or 10).
    let root = tempfile::tempdir()?;
    let base = root.path();
    std::fs::create_dir_all(base.join("work/keys"))?;
    std::fs::create_dir_all(base.join("work/station/deep"))?;
    std::fs::create_dir_all(base.join("elsewhere"))?;
    ok(lbom_in(&base.join("work/keys"), ["keygen", "a"]), "keygen")?;
    let abs_key = base.join("work/keys/a.pub");
    let golden = repo().join("tests/vectors/bundle/tiny.lbom");
    let cwds = [base.join("work"), base.join("work/station")];
    let mut n = 0;
    for cwd in &cwds {
        let from_cwd = |p: &Path| -> String { pathdiff(p, cwd) };
        let keys = [
            from_cwd(&abs_key),
            format!("./{}", from_cwd(&abs_key)),
            abs_key.display().to_string(),
        ];
        let outputs = [
            base.join("work/p.toml"),
            base.join("work/station/p.toml"),
            base.join("work/station/deep/p.toml"),
            base.join("elsewhere/p.toml"),
        ];
        for key in &keys {
            for out in &outputs {
                for relative_output in [true, false] {
                    n += 1;
                    let out_arg = if relative_output {
                        from_cwd(out)
                    } else {
                        out.display().to_string()
                    };
                    let _ = std::fs::remove_file(out);
                    let trust = format!("a={key}:maintainer");
                    let init = lbom_in(cwd, ["policy", "init", "-o", &out_arg, "--trust", &trust])?;
                    assert_eq!(
                        init.code(),
                        Some(0),
                        "cwd {cwd:?} key {key} -o {out_arg}: {}",
                        init.stderr
                    );
                    let text = std::fs::read_to_string(out)?;
                    let written = text
                        .lines()
                        .find_map(|l| l.strip_prefix("public_key = "))
                        .unwrap_or_default()
                        .trim_matches('"')
                        .to_owned();
                    assert_eq!(
                        Path::new(&written).is_absolute(),
                        Path::new(key).is_absolute(),
                        "{key} written as {written}"
                    );
                    let verify = lbom_in(
                        base,
                        [
                            "verify".as_ref(),
                            golden.as_os_str(),
                            "--policy".as_ref(),
                            out.as_os_str(),
                        ],
                    )?;
                    assert_eq!(
                        verify.code(),
                        Some(5),
                        "the policy from cwd {cwd:?} key {key} -o {out_arg} did not load: {}",
                        verify.stderr
                    );
                }
            }
        }
    }
    assert_eq!(n, 2 * 3 * 4 * 2);
    // A policy folder that does not exist is named, and nothing is written.
    let run = lbom_in(
        &base.join("work"),
        [
            "policy",
            "init",
            "-o",
            "nowhere/p.toml",
            "--trust",
            "a=keys/a.pub:maintainer",
        ],
    )?;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    Ok(())
}

/// `path` relative to `from` (both absolute, below one root).
fn pathdiff(path: &Path, from: &Path) -> String {
    let p: Vec<_> = path.components().collect();
    let f: Vec<_> = from.components().collect();
    let common = p.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in p.iter().skip(common) {
        out.push(c);
    }
    out.display().to_string()
}

#[test]
fn a_role_typo_is_caught_where_it_is_signed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let model = fixture("safetensors/tiny-llama");
    let bundle = pack(dir.path(), "b.lbom", &model, &[])?;
    let before = std::fs::read(&bundle)?;
    let key = demo_key("demo-transfer.key");
    for (args, what) in [
        (
            vec![
                OsStr::new("sign"),
                bundle.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
                "--role".as_ref(),
                "trasnfer".as_ref(),
            ],
            "sign",
        ),
        (
            vec![
                OsStr::new("pack"),
                model.as_os_str(),
                "-o".as_ref(),
                "typo.lbom".as_ref(),
                "--key".as_ref(),
                key.as_os_str(),
                "--role".as_ref(),
                "maintaner".as_ref(),
            ],
            "pack",
        ),
    ] {
        let run = lbom_in(dir.path(), &args)?;
        assert_eq!(run.code(), Some(2), "{what}: {}", run.stderr);
        assert!(
            run.stderr.contains("is not one of lbom's roles")
                && run.stderr.contains("did you mean")
                && run.stderr.contains("--custom-role"),
            "{what}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    assert!(std::fs::read(&bundle)? == before, "sign wrote with a typo");
    assert!(
        !dir.path().join("typo.lbom").exists(),
        "pack wrote with a typo"
    );
    // A role of one's own, said so.
    ok(
        lbom_in(
            dir.path(),
            [
                OsStr::new("sign"),
                bundle.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
                "--role".as_ref(),
                "release-bot".as_ref(),
                "--custom-role".as_ref(),
            ],
        ),
        "sign --custom-role",
    )?;
    Ok(())
}

#[test]
fn import_into_a_missing_store_is_an_error_unless_created_explicitly() -> TestResult {
    let (dir, bundle) = tiny_bundle()?;
    let policy = policy(dir.path())?;
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty)?;
    for store in [dir.path().join("stroe"), empty.clone()] {
        let run = import(dir.path(), &bundle, &store, &policy, &[])?;
        assert_eq!(run.code(), Some(2), "{}", run.stderr);
        assert!(
            run.stderr.contains("no lbom store here")
                && run.stderr.contains("lbom store init")
                && run.stderr.contains("--create"),
            "{}",
            run.stderr
        );
        assert!(
            !store.exists() || std::fs::read_dir(&store)?.next().is_none(),
            "import wrote into {store:?}"
        );
    }
    // store init makes one; import then finds it; init refuses it again.
    let store = dir.path().join("store");
    ok(
        lbom_in(
            dir.path(),
            [OsStr::new("store"), "init".as_ref(), store.as_os_str()],
        ),
        "store init",
    )?;
    ok(import(dir.path(), &bundle, &store, &policy, &[]), "import")?;
    let again = lbom_in(
        dir.path(),
        [OsStr::new("store"), "init".as_ref(), store.as_os_str()],
    )?;
    assert_eq!(again.code(), Some(2), "{}", again.stderr);
    assert!(
        again.stderr.contains("is an lbom store already"),
        "{}",
        again.stderr
    );
    // --create on the empty folder.
    ok(
        import(dir.path(), &bundle, &empty, &policy, &["--create"]),
        "import --create",
    )?;
    Ok(())
}

#[test]
fn log_and_rollback_name_the_channels_a_store_has() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (store, _) = imported_releases(dir.path(), &["safetensors/tiny-llama"])?;
    let run = on_store(dir.path(), "log", &store, &["--channel", "stabel"])?;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("no channel \"stabel\"") && run.stderr.contains("its channels: stable"),
        "{}",
        run.stderr
    );
    assert_eq!(stdout(&run), "");
    let run = on_store(
        dir.path(),
        "rollback",
        &store,
        &["--channel", "stabel", "--to", "1"],
    )?;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("its channels: stable"),
        "{}",
        run.stderr
    );
    // With one channel, --channel may be left out.
    let run = ok(
        on_store(dir.path(), "log", &store, &[]),
        "log without --channel",
    )?;
    assert!(stdout(&run).contains("import"), "{}", stdout(&run));
    Ok(())
}

#[test]
fn pack_previous_keeps_the_model_and_a_station_refuses_another_model_on_a_channel() -> TestResult {
    let dir = tempfile::tempdir()?;
    let model = fixture("safetensors/tiny-llama");
    let v1 = pack(
        dir.path(),
        "v1.lbom",
        &model,
        &["--name", "tiny", "--channel", "stable"],
    )?;
    // v2 from another folder name, no --name or --channel: kept from v1.
    let v2 = pack(
        dir.path(),
        "v2.lbom",
        &fixture("drift/base/model.gguf"),
        &["--previous", "v1.lbom"],
    )?;
    let info = ok(
        lbom_in(
            dir.path(),
            [
                OsStr::new("inspect"),
                v2.as_os_str(),
                "--format".as_ref(),
                "json".as_ref(),
            ],
        ),
        "inspect",
    )?
    .json()?;
    assert_eq!(
        info.pointer("/manifest/name").and_then(|v| v.as_str()),
        Some("tiny")
    );
    assert_eq!(
        info.pointer("/manifest/channel").and_then(|v| v.as_str()),
        Some("stable")
    );
    assert_eq!(
        info.pointer("/manifest/sequence").and_then(|v| v.as_u64()),
        Some(2)
    );
    // Another name with --previous: refused at the maintainer's desk.
    let run = lbom_in(
        dir.path(),
        [
            OsStr::new("pack"),
            model.as_os_str(),
            "-o".as_ref(),
            "other.lbom".as_ref(),
            "--previous".as_ref(),
            v1.as_os_str(),
            "--name".as_ref(),
            "other-model".as_ref(),
        ],
    )?;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("is a different model"),
        "{}",
        run.stderr
    );
    // Another model packed on the channel without --previous reaches the
    // station, which refuses it as a different model (exit 7).
    let policy = policy(dir.path())?;
    let store = dir.path().join("store");
    ok(
        import(dir.path(), &v1, &store, &policy, &["--create"]),
        "import v1",
    )?;
    let other = pack(
        dir.path(),
        "other.lbom",
        &fixture("drift/base/model.gguf"),
        &[
            "--name",
            "other-model",
            "--channel",
            "stable",
            "--sequence",
            "2",
        ],
    )?;
    let run = import(dir.path(), &other, &store, &policy, &[])?;
    assert_eq!(run.code(), Some(7), "{}", stdout(&run));
    assert!(
        stdout(&run).contains("a different model"),
        "{}",
        stdout(&run)
    );
    Ok(())
}

#[test]
fn reimporting_a_kept_version_after_a_rollback_says_to_roll_forward() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (store, policy) = imported_releases(dir.path(), &["safetensors/tiny-llama", "drift/base"])?;
    ok(
        on_store(dir.path(), "rollback", &store, &["--to", "1"]),
        "rollback",
    )?;
    let v2 = dir.path().join("v2.lbom");
    let run = import(dir.path(), &v2, &store, &policy, &accepting_all_drift())?;
    assert_eq!(run.code(), Some(7), "{}", stdout(&run));
    assert!(
        stdout(&run).contains("lbom rollback STORE --channel stable --to 2"),
        "{}",
        stdout(&run)
    );
    Ok(())
}

/// docs/store.md [S14]: `prune` keeps `current` (here the oldest, after a
/// rollback) and the newest N, `--channel` may be left out with one
/// channel, `log` shows what went, and a rollback to a pruned version is a
/// usage error that says so.
#[test]
fn prune_keeps_current_and_the_newest_and_log_shows_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let (store, _) = imported_releases(
        dir.path(),
        &["safetensors/tiny-llama", "drift/base", "drift/demo_v2"],
    )?;
    ok(
        on_store(dir.path(), "rollback", &store, &["--to", "1"]),
        "rollback",
    )?;
    let run = ok(
        on_store(dir.path(), "prune", &store, &["--keep", "1"]),
        "prune",
    )?;
    assert_eq!(
        stdout(&run),
        "channel stable: removed versions 2; kept 1, 3 (current 1)\n"
    );
    for (seq, kept) in [("1", true), ("2", false), ("3", true)] {
        assert_eq!(
            store.join("stable").join(seq).is_dir(),
            kept,
            "version {seq}"
        );
    }
    let run = ok(on_store(dir.path(), "log", &store, &[]), "log")?;
    assert!(
        stdout(&run).contains("prune") && stdout(&run).contains("removed  2"),
        "{}",
        stdout(&run)
    );
    ok(on_store(dir.path(), "audit", &store, &["--all"]), "audit")?;
    let run = on_store(dir.path(), "rollback", &store, &["--to", "2"])?;
    assert_eq!(run.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("version 2 of channel stable was pruned"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn demo_keys_and_policy_notes_are_told_at_init_verify_and_import() -> TestResult {
    let (dir, bundle) = tiny_bundle()?;
    let p = dir.path().join("p.toml");
    let init = policy_init(dir.path(), &p, "maintainer,transfer")?;
    let verify = lbom_in(
        dir.path(),
        [
            OsStr::new("verify"),
            bundle.as_os_str(),
            "--policy".as_ref(),
            p.as_os_str(),
        ],
    )?;
    let import = import(
        dir.path(),
        &bundle,
        &dir.path().join("s"),
        &p,
        &["--create"],
    )?;
    for (what, run) in [
        ("policy init", &init),
        ("verify", &verify),
        ("import", &import),
    ] {
        assert!(
            run.stderr
                .contains("is a public demo key: anyone can sign with it"),
            "{what}: {}",
            run.stderr
        );
        assert!(
            run.stderr.contains(
                "may sign as maintainer and transfer: one holder can meet all of these roles"
            ),
            "{what}: {}",
            run.stderr
        );
    }
    // -q keeps stderr for errors only.
    let quiet = lbom_in(
        dir.path(),
        [
            OsStr::new("verify"),
            "-q".as_ref(),
            bundle.as_os_str(),
            "--policy".as_ref(),
            p.as_os_str(),
        ],
    )?;
    assert!(!quiet.stderr.contains("demo key"), "{}", quiet.stderr);
    Ok(())
}

#[test]
fn internal_messages_become_sentences_a_person_acts_on() -> TestResult {
    let (dir, bundle) = tiny_bundle()?;
    // A public key given as the signing key.
    let run = lbom_in(
        dir.path(),
        [
            OsStr::new("sign"),
            bundle.as_os_str(),
            "--key".as_ref(),
            demo_key("demo-transfer.pub").as_os_str(),
            "--role".as_ref(),
            "transfer".as_ref(),
        ],
    )?;
    assert_ne!(run.code(), Some(0));
    assert!(
        run.stderr.contains("this is a public key") && run.stderr.contains("NAME.key"),
        "{}",
        run.stderr
    );
    for internal in ["ASN.1", "PKCS#8 error", "asn1", "Error {"] {
        assert!(!run.stderr.contains(internal), "{}", run.stderr);
    }
    // Two model files to diff: compared as their scans, not read as tars.
    let a = fixture("drift/base/model.gguf");
    let b = fixture("drift/demo_v2/model.gguf");
    let run = lbom_in(
        dir.path(),
        [OsStr::new("diff"), a.as_os_str(), b.as_os_str()],
    )?;
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(stdout(&run).contains("quantization"), "{}", stdout(&run));
    assert!(!run.stderr.contains("checksum"), "{}", run.stderr);
    // A model file where a bundle is expected: said so, exit 3.
    for cmd in ["inspect", "sign"] {
        let mut args = vec![OsStr::new(cmd), a.as_os_str()];
        let key = demo_key("demo-transfer.key");
        if cmd == "sign" {
            args.extend([
                OsStr::new("--key"),
                key.as_os_str(),
                "--role".as_ref(),
                "transfer".as_ref(),
            ]);
        }
        let run = lbom_in(dir.path(), &args)?;
        assert_eq!(run.code(), Some(3), "{cmd}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("not an lbom bundle: it is a GGUF model file"),
            "{cmd}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("checksum"), "{}", run.stderr);
    }
    // A bundle cut short: its size and the entry it ends in, and what to do.
    let full = std::fs::metadata(&bundle)?.len();
    let f = std::fs::OpenOptions::new().write(true).open(&bundle)?;
    f.set_len(full / 2)?;
    drop(f);
    let run = lbom_in(dir.path(), [OsStr::new("inspect"), bundle.as_os_str()])?;
    assert_eq!(run.code(), Some(3), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "its {} bytes end inside the entry at offset",
            full / 2
        )) && run.stderr.contains("copy it again"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    Ok(())
}

/// `--jobs` means on `verify` and `import` what it means on `scan` and
/// `pack`: 0 is a usage error, and any number of threads gives the same
/// report.
#[test]
fn verify_and_import_take_jobs_as_scan_and_pack_do() -> TestResult {
    let (dir, bundle) = tiny_bundle()?;
    let policy = policy(dir.path())?;
    let verify = |jobs: &str| {
        let args = [
            OsStr::new("verify"),
            bundle.as_os_str(),
            "--policy".as_ref(),
        ];
        let args = args
            .into_iter()
            .chain([policy.as_os_str(), "--jobs".as_ref(), jobs.as_ref()]);
        lbom_in(dir.path(), args)
    };
    assert_eq!(verify("0")?.code(), Some(2));
    let one = ok(verify("1"), "verify --jobs 1")?;
    let four = ok(verify("4"), "verify --jobs 4")?;
    assert_eq!(stdout(&one), stdout(&four));
    assert!(stdout(&one).contains("VERIFIED"), "{}", stdout(&one));
    let store = dir.path().join("store");
    let refused = import(dir.path(), &bundle, &store, &policy, &["--jobs", "0"])?;
    assert_eq!(refused.code(), Some(2), "{}", refused.stderr);
    ok(
        import(
            dir.path(),
            &bundle,
            &store,
            &policy,
            &["--create", "--jobs", "3"],
        ),
        "import --jobs 3",
    )?;
    Ok(())
}

/// docs/store.md [S18]: an `import --create` refused before its commit
/// leaves no store behind — a path that did not exist still does not, an
/// empty folder stays empty — whatever refused it: a differential bundle
/// with no base in the new store (exit 9), a chain the policy does not
/// trust (5), a flipped artifact byte (4), a file that is no bundle (3). A
/// store that was there before keeps everything.
#[test]
fn a_refused_import_create_leaves_no_store_behind() -> TestResult {
    let (dir, v1) = tiny_bundle()?;
    let d = dir.path();
    let policy = policy(d)?;
    let model = fixture("safetensors/tiny-llama");
    let diff = pack(
        d,
        "diff.lbom",
        &model,
        &["--previous", "b.lbom", "--base", "b.lbom"],
    )?;
    let untrusting = d.join("untrusting.toml");
    ok(
        lbom_in(
            d,
            common::policy_init_args(&untrusting, &demo_key("demo-transfer.pub"), "maintainer"),
        ),
        "policy init",
    )?;
    let raw = pack(d, "raw.lbom", &model, &["--compress", "none"])?;
    let mut bytes = std::fs::read(&raw)?;
    let (start, size) = largest_entry_data(&raw)?;
    let at = usize::try_from(start + size / 2)?;
    *bytes.get_mut(at).ok_or("offset past the bundle")? ^= 0x10;
    let damaged = d.join("damaged.lbom");
    std::fs::write(&damaged, &bytes)?;
    let not_a_bundle = d.join("notes.lbom");
    std::fs::write(&not_a_bundle, b"not a bundle\n")?;

    for (what, bundle, policy, want) in [
        ("no base", &diff, &policy, 9),
        ("untrusted", &v1, &untrusting, 5),
        ("damaged", &damaged, &policy, 4),
        ("not a bundle", &not_a_bundle, &policy, 3),
    ] {
        let missing = d.join(format!("new-{}", what.replace(' ', "-")));
        let run = import(d, bundle, &missing, policy, &["--create"])?;
        assert_eq!(
            run.code(),
            Some(want),
            "{what}: {}{}",
            stdout(&run),
            run.stderr
        );
        assert!(
            !missing.exists(),
            "{what}: a refused import left {missing:?}"
        );
        let empty = d.join(format!("empty-{}", what.replace(' ', "-")));
        std::fs::create_dir(&empty)?;
        let run = import(d, bundle, &empty, policy, &["--create"])?;
        assert_eq!(run.code(), Some(want), "{what}: {}", run.stderr);
        assert!(
            std::fs::read_dir(&empty)?.next().is_none(),
            "{what}: a refused import left something in {empty:?}"
        );
    }
    // A store that was there: the refusal changes nothing in it.
    let store = d.join("store");
    ok(import(d, &v1, &store, &policy, &["--create"]), "import")?;
    let before = snapshot(&store)?;
    let run = import(d, &damaged, &store, &policy, &["--create"])?;
    assert_eq!(run.code(), Some(4), "{}", run.stderr);
    assert_eq!(snapshot(&store)?, before);
    // And the path that was refused takes a good import afterwards.
    let missing = d.join("new-damaged");
    ok(
        import(d, &v1, &missing, &policy, &["--create"]),
        "import after a refusal",
    )?;
    Ok(())
}

/// Every entry below `dir`: a file with its bytes, a link with its target,
/// a folder with nothing; by path, links never followed.
fn snapshot(dir: &Path) -> Res<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            let kind = std::fs::symlink_metadata(&path)?.file_type();
            let content = if kind.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else if kind.is_symlink() {
                std::fs::read_link(&path)?
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(&path)?
            };
            out.push((path, content));
        }
    }
    out.sort();
    Ok(out)
}

/// The data range of the largest entry of the tar at `bundle`.
fn largest_entry_data(bundle: &Path) -> Res<(u64, u64)> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle)?);
    let mut best = (0, 0);
    for entry in archive.entries()? {
        let entry = entry?;
        let size = entry.header().size()?;
        if size > best.1 {
            best = (entry.raw_file_position(), size);
        }
    }
    Ok(best)
}
