//! `lbom keygen`.

use lbom::outln;

use crate::cli::KeygenArgs;
use crate::exit;
use crate::output::Output;

/// Write NAME.key and NAME.pub; print the key id.
pub fn run(args: &KeygenArgs) -> anyhow::Result<u8> {
    let passphrase = super::passphrase(args.passphrase_env.as_deref())?;
    let key_id = lbom::keygen(&args.name, passphrase.as_deref().map(|p| p.as_slice()))?;
    let mut out = Output::open(None)?;
    outln!(out.text(), "{key_id}")?;
    out.finish()?;
    note!(
        "lbom: wrote {0}.key (secret, mode 0600{1}) and {0}.pub",
        args.name.display(),
        if passphrase.is_some() {
            ", encrypted"
        } else {
            ""
        }
    );
    Ok(exit::SUCCESS)
}
