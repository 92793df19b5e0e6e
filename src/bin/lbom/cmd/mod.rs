//! One file per subcommand; each turns arguments into one library call and
//! renders the result.

mod audit;
mod diff;
mod import;
mod inspect;
mod keygen;
mod log;
mod pack;
mod policy;
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
        Command::Log(args) => log::run(args),
        Command::Policy(PolicyCommand::Init(args)) => policy::init_policy(args, cli.quiet),
        Command::Store(StoreCommand::Init(args)) => {
            lbom::import::Store::create(&args.store)?;
            note!("lbom: created an empty store in {}", args.store.display());
            Ok(crate::exit::SUCCESS)
        }
        Command::Version => {
            let mut out = crate::output::Output::open(None)?;
            lbom::outln!(out.text(), "lbom {}", lbom::TOOL_VERSION)?;
            out.finish()?;
            Ok(crate::exit::SUCCESS)
        }
    }
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
