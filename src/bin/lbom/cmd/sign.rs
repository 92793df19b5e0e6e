//! `lbom sign`.

use lbom::SignOptions;
use lbom::outln;

use crate::cli::SignArgs;
use crate::exit::{self, UsageError};
use crate::output::Output;

/// Append one link; print its index, role and key id.
pub fn run(args: &SignArgs) -> anyhow::Result<u8> {
    lbom::check_signing_role(&args.role, args.custom_role)
        .map_err(|m| UsageError(super::custom_role_hint(m)))?;
    let key = super::load_signing_key(&args.key, args.passphrase_env.as_deref())?;
    let options = SignOptions {
        role: args.role.clone(),
        note: args.note.clone(),
        time: None,
    };
    let signed = lbom::sign(&args.bundle, &key, &options)?;
    if let Some(offset) = signed.repaired_at {
        note!(
            "lbom: {}: removed an incomplete link left by an interrupted sign (from byte {offset})",
            args.bundle.display()
        );
    }
    let p = &signed.link.predicate;
    let mut out = Output::open(None)?;
    outln!(
        out.text(),
        "{}: link {} signed as {} by key {}",
        args.bundle.display(),
        p.index,
        p.role,
        p.keyid
    )?;
    out.finish()?;
    Ok(exit::SUCCESS)
}
