//! The exit codes: one table from `lbom::Class` to the number a script
//! sees (README, "Exit codes"; docs/policy.md, "Checks and exit codes").
//! The tests include this file too (`Class` comes from the including
//! module), so the table they check is the one the binary uses.

use super::Class;

/// 0: success.
pub const SUCCESS: u8 = 0;
/// 1: findings at or above `--fail-on`, or drift found by `diff`.
pub const FINDINGS: u8 = 1;

/// The exit code of a failure of `class`.
pub fn of(class: Class) -> u8 {
    match class {
        Class::Usage => 2,
        Class::Malformed => 3,
        Class::Integrity => 4,
        Class::Trust => 5,
        Class::Policy => 6,
        Class::Rollback => 7,
        Class::Drift => 8,
        Class::Base => 9,
        Class::Io => 10,
    }
}
