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
pub const KNOWN: &[Known] = &[Known {
    case: "probe-zstd-block-over-window.lbom",
    lbom: "accept",
    reference: "entries.digests exit 4",
    why: "bundle-format.md [B56] rule 5: \"the frame decodes under RFC 8878 (no reserved block \
          type, no block larger than Block_Maximum_Size)\"; RFC 8878 §3.1.1.2.3 makes \
          Block_Maximum_Size the smaller of Window_Size and 128 KiB. The probe's frame has a \
          1 KiB window (Window_Descriptor 0) and one raw block of 7904 bytes; lbom accepts it \
          (libzstd 1.5.7 decodes it too, so the decoder does not enforce the rule)",
}];
