//! The disagreements between `lbom verify` and the reference verifier where
//! the spec (docs/bundle-format.md, docs/policy.md) is clear and lbom does
//! not follow it, each with the sentence lbom breaks. Where the spec allows
//! two readings the reference names the ambiguity instead
//! (tests/refverify/readings.py), and what it cannot check (a fresh model
//! scan) it reports as not checked: neither belongs here.
//! tests/refverify.rs fails on a disagreement not listed here and on a
//! listed one that no longer occurs.

/// One place where lbom does not do what the spec says.
pub struct Known {
    /// The bundle's file name.
    pub case: &'static str,
    /// lbom's outcome: "accept" or "CHECK exit N".
    pub lbom: &'static str,
    /// The reference's outcome, same form.
    pub reference: &'static str,
    /// The spec sentence lbom breaks, with its id.
    pub why: &'static str,
}

/// Every disagreement known today. Keep sorted by case.
pub const KNOWN: &[Known] = &[];
