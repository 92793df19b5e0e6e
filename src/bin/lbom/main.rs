//! The `lbom` command line: parse, run, print the error, pick the exit code.

mod cli;
mod cmd;
mod exit;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(&cli) {
        Ok(code) => exit::code(code),
        Err(err) if exit::is_broken_pipe(&err) => exit::code(exit::SUCCESS),
        Err(err) => {
            let (code, hint) = exit::classify(&err);
            // `{:#}` prints the chain once, each layer adding only its own context.
            eprintln!("lbom: {err:#}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            exit::code(code)
        }
    }
}
