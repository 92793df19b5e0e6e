//! The names `pack` gives its inputs, checked before anything is written:
//! no two collide as artifact paths or as any entry name an input could
//! get, and the entry names fit what a reader keeps of them.

use super::super::path::{CollisionError, check_collisions};
use super::walk::Input;
use super::{artifact_entry_name, sbom_entry_name};
use crate::bundle::{Encoding, Error, layout};

/// Artifact paths must not collide, and neither may any entry name an
/// input could get, whichever encoding it ends up with (`a` stored zstd is
/// `artifacts/a.zst`, which an input `a.zst` stored raw would also be):
/// docs/bundle-format.md [B16]. The reader's check (one fold key per name,
/// sorted), over the inputs' names; and the entry names' fold keys must fit
/// the reader's cap, so that no reader refuses what `pack` writes
/// (docs/bundle-format.md "Reader limits", [B63]).
pub(super) fn check_input_names(inputs: &[Input]) -> Result<(), Error> {
    let refuse = |index: usize, source| Error::InputName {
        path: inputs
            .get(index)
            .map(|i| i.source.clone())
            .unwrap_or_default(),
        source,
    };
    let collision = |per_input: usize| {
        move |e: CollisionError| match e {
            CollisionError::Collision { index, error } => refuse(index / per_input, error),
            CollisionError::TooLong(e) => Error::Option(e.to_string()),
        }
    };
    check_collisions(inputs.iter().map(|i| &i.name), usize::MAX).map_err(collision(1))?;
    let mut derived = Vec::with_capacity(inputs.len().saturating_mul(3));
    for (index, i) in inputs.iter().enumerate() {
        for name in [
            artifact_entry_name(&i.name, Encoding::Raw),
            artifact_entry_name(&i.name, Encoding::Zstd),
            sbom_entry_name(&i.name),
        ] {
            derived.push(name.map_err(|e| refuse(index, e))?);
        }
    }
    check_collisions(&derived, usize::MAX).map_err(collision(3))?;
    // What a reader keeps of the bundle's names: the longer (zstd) artifact
    // entry name and the SBOM name of each input, and the fixed entries.
    let limits = crate::bundle::ReadLimits::default();
    let most_links = u32::try_from(limits.max_links).unwrap_or(layout::MAX_LINKS);
    let fixed = [layout::ATTESTATION, layout::MANIFEST]
        .into_iter()
        .map(str::to_owned)
        .chain((1..=most_links.min(layout::MAX_LINKS)).map(layout::link_name))
        .map(|n| n.len())
        .sum::<usize>();
    let names = derived
        .chunks(3)
        .filter_map(|c| match c {
            [_, zstd, sbom] => Some(zstd.fold_key().len() + sbom.fold_key().len()),
            _ => None,
        })
        .sum::<usize>();
    let cap = limits.max_folded_name_bytes;
    if names.saturating_add(fixed) > cap {
        return Err(Error::Option(format!(
            "the inputs' entry names take {} bytes in their folded forms, more than the {cap} bytes a reader keeps (docs/bundle-format.md, \"Reader limits\")",
            names.saturating_add(fixed)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::BundlePath;

    fn inputs(names: &[String]) -> Result<Vec<Input>, crate::bundle::PathError> {
        names
            .iter()
            .map(|n| {
                Ok(Input {
                    name: BundlePath::new(n)?,
                    source: std::path::PathBuf::from(n),
                    identity: (0, 0),
                })
            })
            .collect()
    }

    /// docs/bundle-format.md [B63]: inputs whose entry names' fold keys a
    /// reader would refuse to keep are refused before anything is written
    /// (U+FDFA folds to 18 letters, 33 bytes: names of 3-byte characters
    /// fold to eleven times their length).
    #[test]
    fn inputs_whose_fold_keys_exceed_the_readers_are_refused()
    -> Result<(), Box<dyn std::error::Error>> {
        let run = |n: usize| std::iter::repeat_n('\u{fdfa}', n).collect::<String>();
        let name = |i: usize| format!("{}/{}/{i:05}", run(30), run(30));
        let few: Vec<String> = (0..100).map(name).collect();
        assert!(check_input_names(&inputs(&few)?).is_ok());
        let many: Vec<String> = (0..3_000).map(name).collect();
        let got = check_input_names(&inputs(&many)?);
        assert!(
            matches!(&got, Err(Error::Option(m)) if m.contains("folded forms")),
            "{got:?}"
        );
        Ok(())
    }
}
