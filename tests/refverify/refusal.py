"""The one exception every check raises, and the check names and exit codes
of docs/policy.md section 9 ("Checks and exit codes").

Written from docs/bundle-format.md and docs/policy.md alone (README.md here).
"""

# docs/policy.md §9, in the order `lbom verify` runs them.
CHECKS = [
    "archive.structure",
    "manifest.form",
    "policy.caps",
    "chain.links",
    "chain.signatures",
    "chain.signers",
    "chain.threshold",
    "chain.required_roles",
    "bundle.expiry",
    "bundle.age",
    "trust.demo_key",
    "attestation.subjects",
    "entries.digests",
    "sbom.consistent",
    "policy.formats",
    "policy.licences",
    "policy.findings",
    "store.history",
]

# Exit on failure, docs/policy.md §9 table. chain.links has two (3 malformed,
# 5 wrong digest chaining): the refusal names which.
EXIT = {
    "archive.structure": 3,
    "manifest.form": 3,
    "policy.caps": 6,
    "chain.links": 3,
    "chain.signatures": 5,
    "chain.signers": 5,
    "chain.threshold": 5,
    "chain.required_roles": 5,
    "bundle.expiry": 5,
    "bundle.age": 6,
    "attestation.subjects": 4,
    "entries.digests": 4,
    "sbom.consistent": 4,
    "policy.formats": 6,
    "policy.licences": 6,
    "policy.findings": 6,
    "store.history": 7,
}

# Exit codes of docs/policy.md §9 "Exit codes, all commands" / §3 (policy).
EXIT_INVALID_POLICY = 2
EXIT_IO = 10


class Refusal(Exception):
    """A check failed: `check` is its docs/policy.md name, `code` its exit."""

    def __init__(self, check: str, detail: str, code: int | None = None):
        super().__init__(detail)
        self.check = check
        self.detail = detail
        self.code = EXIT[check] if code is None else code


class PolicyError(Exception):
    """The policy does not load: exit 2 (invalid) or 10 (unreadable), §3."""

    def __init__(self, detail: str, io: bool = False):
        super().__init__(detail)
        self.detail = detail
        self.code = EXIT_IO if io else EXIT_INVALID_POLICY
