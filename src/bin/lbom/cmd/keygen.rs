//! `lbom keygen`.

use crate::cli::KeygenArgs;
use crate::exit;

/// Write NAME.key and NAME.pub; print the key id.
pub fn run(args: &KeygenArgs) -> anyhow::Result<u8> {
    let passphrase = super::passphrase(args.passphrase_env.as_deref())?;
    let key_id = lbom::sign::keygen(&args.name, passphrase.as_deref().map(|p| p.as_slice()))?;
    println!("{key_id}");
    eprintln!(
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
