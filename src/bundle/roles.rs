//! The roles a signer may claim without saying it means a role of its own
//! (docs/bundle-format.md, section 7, "Roles at the signing desk").
//!
//! A role is any label to a reader, and a station's policy names the ones
//! it requires; so a typo (`--role maintaner`) would make a well-signed
//! bundle that every station refuses, and only the station would say so,
//! across the air gap. `sign` and `pack --key` therefore accept only
//! `KNOWN_ROLES` unless the signer says a role of its own is meant.

/// Roles lbom's documents and default policies use.
pub const KNOWN_ROLES: &[&str] = &["maintainer", "reviewer", "transfer", "station"];

/// Check the role a signer is about to claim: a label (as every link's
/// role, [B35]) and, unless `custom` is set, one of `KNOWN_ROLES`. The
/// message names the known roles, the nearest one when it is a likely
/// typo.
pub fn check_signing_role(role: &str, custom: bool) -> Result<(), String> {
    crate::bundle::manifest::check_label("role", role)?;
    if custom || KNOWN_ROLES.contains(&role) {
        return Ok(());
    }
    let nearest = KNOWN_ROLES
        .iter()
        .map(|k| (edit_distance(&role.to_ascii_lowercase(), k), *k))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, k)| format!(" (did you mean {k:?}?)"))
        .unwrap_or_default();
    Err(format!(
        "role {role:?} is not one of lbom's roles ({}){nearest}",
        KNOWN_ROLES.join(", ")
    ))
}

/// Levenshtein distance over bytes (roles are ASCII labels of at most 128
/// characters, so this is cheap).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = i;
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(usize::MAX);
            let left = row.get(j).copied().unwrap_or(usize::MAX);
            let cost = diagonal + usize::from(ca != *cb);
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = cost.min(above + 1).min(left + 1);
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_roles_pass_typos_are_caught_with_the_nearest_and_custom_roles_need_the_flag() {
        for role in KNOWN_ROLES {
            assert_eq!(check_signing_role(role, false), Ok(()));
        }
        // Every single-character slip of every known role is caught and
        // points back at it.
        for role in KNOWN_ROLES {
            let bytes = role.as_bytes();
            for i in 0..bytes.len() {
                let mut dropped = bytes.to_vec();
                dropped.remove(i);
                let mut swapped = bytes.to_vec();
                if i + 1 < bytes.len() {
                    swapped.swap(i, i + 1);
                }
                let mut doubled = bytes.to_vec();
                doubled.insert(i, bytes[i]);
                for typo in [dropped, swapped, doubled] {
                    let typo = String::from_utf8(typo).unwrap_or_default();
                    if typo == *role {
                        continue;
                    }
                    let e = check_signing_role(&typo, false).err().unwrap_or_default();
                    assert!(
                        e.contains(&format!("did you mean {role:?}"))
                            && e.contains("not one of lbom's roles"),
                        "{typo}: {e}"
                    );
                    assert_eq!(check_signing_role(&typo, true), Ok(()));
                }
            }
        }
        assert!(check_signing_role("Maintainer", false).is_err());
        let far = check_signing_role("release-bot", false)
            .err()
            .unwrap_or_default();
        assert!(
            !far.contains("did you mean") && far.contains("not one of lbom's roles"),
            "{far}"
        );
        assert_eq!(check_signing_role("release-bot", true), Ok(()));
        // The label rule holds whatever the flag.
        assert!(check_signing_role("../x", true).is_err());
        assert_eq!(edit_distance("maintaner", "maintainer"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
