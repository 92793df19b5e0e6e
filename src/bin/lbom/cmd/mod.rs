//! One file per subcommand; each turns arguments into one library call and
//! renders the result.

mod audit;
mod diff;
mod import;
mod inspect;
mod keygen;
mod log;
mod pack;
mod parts;
mod policy;
mod prune;
mod registry;
mod rollback;
mod scan;
mod sign;
mod verify;

use crate::cli::{Cli, Command, PolicyCommand, StoreCommand};

/// Run the command; `Ok` carries the exit code.
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Scan(args) => scan::run(args, cli.quiet),
        Command::Keygen(args) => keygen::run(args),
        Command::Pack(args) => pack::run(args, cli.quiet),
        Command::Sign(args) => sign::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Verify(args) => verify::run(args, cli.quiet),
        Command::Import(args) => import::run(args, cli.quiet),
        Command::Diff(args) => diff::run(args),
        Command::Audit(args) => audit::run(args, cli.quiet),
        Command::Rollback(args) => rollback::run(args),
        Command::Prune(args) => prune::run(args),
        Command::Log(args) => log::run(args),
        Command::Push(args) => registry::push(args),
        Command::Pull(args) => registry::pull(args, cli.quiet),
        Command::Export(args) => registry::export(args),
        Command::Split(args) => parts::split(args, cli.quiet),
        Command::VerifyParts(args) => parts::verify_parts(args, cli.quiet),
        Command::Repair(args) => parts::repair(args, cli.quiet),
        Command::Join(args) => parts::join(args, cli.quiet),
        Command::Policy(PolicyCommand::Init(args)) => policy::init_policy(args, cli.quiet),
        Command::Store(StoreCommand::Init(args)) => {
            lbom::Store::create(&args.store)?;
            note!("lbom: created an empty store in {}", args.store.display());
            Ok(crate::exit::SUCCESS)
        }
        Command::Version => {
            // Bare, for scripts; `lbom --version` says "lbom 0.1.0".
            let mut out = crate::output::Output::open(None)?;
            // The bare version, as l-bom prints it (README, "Switching from l-bom").
            lbom::outln!(out.text(), "{}", lbom::TOOL_VERSION)?;
            out.finish()?;
            Ok(crate::exit::SUCCESS)
        }
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "lbom", &mut script);
            let mut out = crate::output::Output::open(None)?;
            out.text().document_bytes(&script)?;
            out.finish()?;
            Ok(crate::exit::SUCCESS)
        }
        Command::Man(args) => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&args.dir)?;
            clap_mangen::generate_to(Cli::command(), &args.dir)?;
            note!("lbom: wrote man pages into {}", args.dir.display());
            Ok(crate::exit::SUCCESS)
        }
    }
}

/// Load a signing key. An encrypted key takes its passphrase from the
/// environment variable named by `--passphrase-env`, or, without one, from
/// the terminal (no echo) when there is one; in a pipe, it is an error
/// that names the option.
pub fn load_signing_key(
    path: &std::path::Path,
    passphrase_env: Option<&str>,
) -> anyhow::Result<lbom::SigningKey> {
    use lbom::SigningKey;
    let given = passphrase(passphrase_env)?;
    match SigningKey::load(path, given.as_deref().map(|p| p.as_slice())) {
        Err(e) if given.is_none() && needs_passphrase(&e) && on_terminal() => {
            let typed = zeroize::Zeroizing::new(
                rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))
                    .map_err(|e| anyhow::anyhow!("cannot read the passphrase: {e}"))?,
            );
            Ok(SigningKey::load(path, Some(typed.as_bytes()))?)
        }
        other => Ok(other?),
    }
}

fn needs_passphrase(e: &lbom::KeyError) -> bool {
    use lbom::KeyError;
    match e {
        KeyError::PassphraseRequired => true,
        KeyError::InKeyFile { source, .. } => needs_passphrase(source),
        _ => false,
    }
}

/// Whether a person can be asked: stdin and stderr are a terminal.
#[allow(
    clippy::disallowed_methods,
    reason = "only asks whether stderr is a terminal"
)]
fn on_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The passphrase in environment variable `var`, if one was named.
/// Secrets never come through argv, where `ps` would show them.
pub fn passphrase(var: Option<&str>) -> anyhow::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
    use std::os::unix::ffi::OsStringExt;
    let Some(var) = var else { return Ok(None) };
    let value = std::env::var_os(var).ok_or_else(|| {
        anyhow::anyhow!("environment variable {var} (--passphrase-env) is not set")
    })?;
    let bytes = zeroize::Zeroizing::new(value.into_vec());
    anyhow::ensure!(
        !bytes.is_empty(),
        "environment variable {var} (--passphrase-env) is empty"
    );
    Ok(Some(bytes))
}

/// A refused signing role, with the flag that says a role of one's own is
/// meant (the library names no flag: docs/architecture.md).
pub(crate) fn custom_role_hint(message: String) -> String {
    if message.contains("is not one of lbom's roles") {
        format!("{message}; to sign as a role of your own, add --custom-role")
    } else {
        message
    }
}
