//! The disagreements between `lbom verify` and the reference verifier that
//! the spec (docs/bundle-format.md, docs/policy.md) cannot settle today, each
//! with the sentence behind it and the reading the reference took
//! (tests/refverify/README.md, "Ambiguities"). tests/refverify.rs fails on a
//! disagreement not listed here and on a listed one that no longer occurs.

/// One disagreement the spec cannot settle today.
pub struct Known {
    /// The bundle's file name.
    pub case: &'static str,
    /// lbom's outcome: "accept" or "CHECK exit N".
    pub lbom: &'static str,
    /// The reference's outcome, same form.
    pub reference: &'static str,
    /// The spec sentence(s) behind it, and which reading the reference took.
    pub why: &'static str,
}

const LAYOUT: &str = "policy.md §9 names archive.structure for \"the tar profile and layout \
    (bundle-format.md §1–4)\"; §1 [B2]/[B3] fix the entry order from entry names alone, and \
    archive.structure runs before manifest.form. lbom reports layout errors it finds by \
    comparing with the manifest ([B27], §5) under manifest.form (reference ambiguity A4)";
const LINK_FORM: &str = "policy.md §9: chain.links checks that \"each link is a well-formed DSSE \
    envelope and link statement (3)\"; [B3]'s \"a link whose predicate index differs from its \
    number\", [B30] and [B32] are link form. lbom reports them as manifest.form (A4)";
const UNSIGNED: &str = "bundle-format.md §1 item 4: \"Zero or more chain links\": a bundle \
    without links is well formed, so chain.links passes and the missing roles fail \
    chain.required_roles (same exit 5); lbom fails chain.links (A4)";
const JSON_FORM: &str = "[B1] \"a reader MUST accept exactly these bytes and reject everything \
    else\" against [B22] \"readers never re-serialise it\" and no reader rule for the byte form \
    of the manifest (§5), attestation (§6) or payload (§7); the reference refuses every \
    non-canonical form (A5)";
const NOTE: &str = "§7: note is \"(omitted when none)\"; whether null or \"\" are other \
    spellings of none or a note is not said; the reference refuses both (A12)";
const ATTESTATION: &str = "§6 says only that a writer writes this form ([B28]) and a verifier \
    refuses subjects that are not exactly the manifest's artifacts ([B29]); subject order \
    (\"artifacts, bundle order\") and extra digest algorithms are not reader rules. The \
    reference holds the attestation to the form under [B1] (A17)";

/// Every disagreement known today. Keep sorted by case.
pub const KNOWN: &[Known] = &[
    Known {
        case: "hostile-zeros-only.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "probe-attestation-extra-digest.lbom",
        lbom: "accept",
        reference: "attestation.subjects exit 4",
        why: ATTESTATION,
    },
    Known {
        case: "probe-attestation-pretty.lbom",
        lbom: "accept",
        reference: "attestation.subjects exit 4",
        why: JSON_FORM,
    },
    Known {
        case: "probe-attestation-subjects-reversed.lbom",
        lbom: "accept",
        reference: "attestation.subjects exit 4",
        why: ATTESTATION,
    },
    Known {
        case: "probe-link-hint-omitted.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "probe-link-note-c1-control.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "probe-link-note-empty.lbom",
        lbom: "accept",
        reference: "chain.links exit 3",
        why: NOTE,
    },
    Known {
        case: "probe-link-note-null.lbom",
        lbom: "accept",
        reference: "chain.links exit 3",
        why: NOTE,
    },
    Known {
        case: "probe-link-payload-pretty.lbom",
        lbom: "accept",
        reference: "chain.links exit 3",
        why: JSON_FORM,
    },
    Known {
        case: "probe-manifest-compact.lbom",
        lbom: "accept",
        reference: "manifest.form exit 3",
        why: JSON_FORM,
    },
    Known {
        case: "probe-manifest-keys-reordered.lbom",
        lbom: "accept",
        reference: "manifest.form exit 3",
        why: "[B22] \"the fields in the order of the table\" is a writer rule; [B23] lists what \
              a reader rejects (unknown, missing, wrong type) and not order; the reference \
              applies [B1] (A5)",
    },
    Known {
        case: "probe-manifest-sequence-2-63.lbom",
        lbom: "accept",
        reference: "manifest.form exit 3",
        why: "§5: sequence is an \"integer\" \"≥ 1\" with no upper bound or width; the \
              reference refuses above 2^63 − 1 (A8)",
    },
    Known {
        case: "probe-manifest-tool-name.lbom",
        lbom: "accept",
        reference: "manifest.form exit 3",
        why: "§5 table: tool is `{\"name\": \"lbom\", \"version\": \"…\"}`; whether \"lbom\" is the \
              required value or an example is not said; the reference requires it (A9)",
    },
    Known {
        case: "probe-zero-artifacts.lbom",
        lbom: "accept",
        reference: "manifest.form exit 3",
        why: "§1 \"For each artifact\" allows none and nothing says a bundle holds at least one; \
              the reference refuses a bundle that carries nothing (A10)",
    },
    Known {
        case: "probe-zstd-no-checksum.lbom",
        lbom: "accept",
        reference: "entries.digests exit 4",
        why: "[B19] \"a zstd artifact MUST be one RFC 8878 frame with the content size and the \
              content checksum\" is stated for writers; [B20] is the only reader rule. The \
              reference applies [B19] to readers through [B1] (A16)",
    },
    Known {
        case: "tamper-extra-entry-after-chain.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-extra-entry-before-attestation.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-extra-entry-first.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-header-artifact-raw-name.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-header-artifact-zstd-name.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-header-attestation-name.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-header-link-name.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-header-manifest-name.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-header-sbom-name.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-link1-removed.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "tamper-link2-payload-type-changed.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "tamper-link2-predicate-type-changed.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "tamper-link2-without-final-newline.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "tamper-links-reordered.lbom",
        lbom: "manifest.form exit 3",
        reference: "chain.links exit 3",
        why: LINK_FORM,
    },
    Known {
        case: "tamper-missing-artifact.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-missing-attestation.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-missing-manifest.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-missing-sbom.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-swapped-artifact-and-sbom-names.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-swapped-artifact-names.lbom",
        lbom: "manifest.form exit 3",
        reference: "archive.structure exit 3",
        why: LAYOUT,
    },
    Known {
        case: "tamper-unsigned.lbom",
        lbom: "chain.links exit 5",
        reference: "chain.required_roles exit 5",
        why: UNSIGNED,
    },
    Known {
        case: "fresh-unsigned.lbom",
        lbom: "chain.links exit 5",
        reference: "chain.required_roles exit 5",
        why: UNSIGNED,
    },
];
