//! One file per subcommand; each turns arguments into one library call and
//! renders the result.

mod scan;

use crate::cli::{Cli, Command};

/// Run the command; `Ok` carries the exit code.
pub fn run(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Command::Scan(args) => scan::run(args, cli.quiet),
        Command::Version => {
            println!("lbom {}", lbom::TOOL_VERSION);
            Ok(crate::exit::SUCCESS)
        }
    }
}
