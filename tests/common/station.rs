//! A station for the registry tests (tests/registry.rs against Debian's
//! docker-registry, tests/registry_api.rs against a mock): keys, a bundle
//! signed by the maintainer, imported into a store with a receipt signed by
//! the station, and the node's policy; and the `lbom` runs that push, pull
//! and import it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{fail, lbom, repo, run_bounded};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

pub const LIMIT: Duration = Duration::from_secs(600);

/// `lbom ARGS`, which must exit `want`; its stdout.
pub fn run_lbom(args: &[&str], want: i32) -> Res<String> {
    let run = run_bounded(&mut lbom(args), LIMIT)?;
    if run.code() != Some(want) {
        return Err(fail(format!(
            "lbom {args:?} exited {:?}, expected {want}; stderr: {}; stdout: {}",
            run.code(),
            run.stderr.trim(),
            String::from_utf8_lossy(&run.stdout)
        )));
    }
    Ok(String::from_utf8_lossy(&run.stdout).into_owned())
}

/// `lbom push STORE --channel CHANNEL TARGET EXTRA…`, which must exit
/// `want`; its stdout.
pub fn push(store: &Path, channel: &str, target: &str, extra: &[&str], want: i32) -> Res<String> {
    let mut args = vec!["push", s(store), "--channel", channel, target];
    args.extend_from_slice(extra);
    run_lbom(&args, want)
}

/// `lbom pull SOURCE --into NODE --policy POLICY EXTRA…`, which must exit
/// `want`; its stdout.
pub fn pull(source: &str, node: &Path, policy: &Path, extra: &[&str], want: i32) -> Res<String> {
    let mut args = vec!["pull", source, "--into", s(node), "--policy", s(policy)];
    args.extend_from_slice(extra);
    run_lbom(&args, want)
}

/// `lbom import BUNDLE --into STORE --create --policy POLICY --key KEY`: a
/// new store holding `bundle`, its receipt signed with `key`.
pub fn import_signed(bundle: &Path, store: &Path, policy: &Path, key: &Path) -> Res<String> {
    run_lbom(
        &[
            "import",
            s(bundle),
            "--into",
            s(store),
            "--create",
            "--policy",
            s(policy),
            "--key",
            s(key),
        ],
        0,
    )
}

/// A path as an argument (the tests' paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// A temporary folder removed whole when dropped, stores included: their
/// folders are 0555 and files 0444, which a non-root account cannot
/// delete until `chmod -R u+w` (never following a link) makes them
/// writable again. The 1 GiB test must leave nothing in $TMPDIR.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Res<Scratch> {
        Ok(Scratch(tempfile::tempdir()?))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(self.0.path())
            .status();
    }
}

/// A station with one imported version, and the node's policy.
pub struct Station {
    pub dir: Scratch,
    pub store: PathBuf,
    pub node_policy: PathBuf,
}

/// A policy at `path` trusting `keys` (name, public key, role) and
/// requiring the role `required`.
pub fn policy(path: &Path, keys: &[(&str, &Path, &str)], required: &str) -> Res<()> {
    let mut text = String::from("version = 1\n");
    for (name, key, role) in keys {
        text += &format!(
            "\n[[keys]]\nname = \"{name}\"\npublic_key = \"{}\"\nroles = [\"{role}\"]\n",
            s(key)
        );
    }
    text += &format!(
        "\n[signatures]\nrequired_roles = [\"{required}\"]\n\n[time]\nmax_age = \"none\"\n"
    );
    std::fs::write(path, text)?;
    Ok(())
}

/// Keys, a bundle of `model` (packed raw, signed by the maintainer),
/// imported with a receipt signed by the station key.
pub fn station(model: &Path) -> Res<Station> {
    station_packed(model, "none")
}

/// [`station`], packed with `--compress COMPRESS`.
pub fn station_packed(model: &Path, compress: &str) -> Res<Station> {
    let dir = Scratch::new()?;
    let d = dir.path();
    for name in ["maintainer", "station", "stranger"] {
        run_lbom(&["keygen", s(&d.join(name))], 0)?;
    }
    let bundle = d.join("model.lbom");
    run_lbom(
        &[
            "pack",
            s(model),
            "--name",
            "tiny",
            "--channel",
            "stable",
            "--compress",
            compress,
            "-o",
            s(&bundle),
            "--key",
            s(&d.join("maintainer.key")),
            "--role",
            "maintainer",
        ],
        0,
    )?;
    let station_policy = d.join("station.toml");
    policy(
        &station_policy,
        &[("maintainer", &d.join("maintainer.pub"), "maintainer")],
        "maintainer",
    )?;
    let node_policy = d.join("node.toml");
    policy(
        &node_policy,
        &[
            ("maintainer", &d.join("maintainer.pub"), "maintainer"),
            ("station", &d.join("station.pub"), "station"),
        ],
        "maintainer",
    )?;
    let store = d.join("station-store");
    import_signed(&bundle, &store, &station_policy, &d.join("station.key"))?;
    Ok(Station {
        dir,
        store,
        node_policy,
    })
}

/// The small safetensors fixture.
pub fn tiny() -> PathBuf {
    repo().join("fixtures/safetensors/tiny-llama")
}

/// The digest `push` printed (`(sha256:…)`).
pub fn pushed_digest(out: &str) -> Res<String> {
    let start = out
        .find("(sha256:")
        .ok_or_else(|| fail(format!("no digest in {out}")))?;
    Ok(out
        .get(start + 1..start + 72)
        .unwrap_or_default()
        .to_owned())
}
