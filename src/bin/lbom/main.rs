//! The `lbom` command line: parse, run, print the error, pick the exit code.

// First: its `note!` macro is used by the modules after it.
#[macro_use]
mod output;

mod cli;
mod cmd;
mod codes;
mod exit;
mod progress;

use std::process::ExitCode;

use clap::Parser;
/// The failure classes, for `codes` (which names them `super::Class`).
use lbom::Class;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(&cli) {
        Ok(code) => exit::code(code),
        Err(err) if exit::is_broken_pipe(&err) => exit::code(exit::SUCCESS),
        Err(err) => {
            let (code, hint) = exit::classify(&err);
            // `{:#}` prints the chain once, each layer adding only its own
            // context; `note!` escapes what the error quotes from input.
            note!("lbom: {err:#}");
            if let Some(hint) = hint {
                note!("hint: {hint}");
            }
            exit::code(code)
        }
    }
}
