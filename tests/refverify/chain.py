"""The chain checks of docs/policy.md §9: `chain.links`, `chain.signatures`,
`chain.signers`, `chain.threshold`, `chain.required_roles` (all exit 5 but
a malformed link, exit 3), from docs/bundle-format.md §7 and policy.md
§4.3 and §5.
"""

import hashlib

import envelope
from ed25519strict import verify_strict
from layout import link_name
from refusal import Refusal


def links(data: bytes, layout, manifest_digest: str) -> list:
    """`chain.links`: each link well formed (exit 3), over this manifest
    ([B33]) and chained to the one before ([B34]) (exit 5). Links are judged
    one by one in order, form before chaining (ambiguity A18)."""
    out = []
    previous_raw = None
    for n, entry in enumerate(layout.links, start=1):
        raw = data[entry.data_offset : entry.data_offset + entry.size]
        link = envelope.parse(n, raw)
        if link.manifest_digest != manifest_digest:
            raise Refusal("chain.links", f"link {n} is over manifest {link.manifest_digest}, not this one", code=5)
        if n == 1 and link.previous is not None:
            raise Refusal("chain.links", "link 1 names a previous link ([B34])", code=5)
        if n > 1:
            want = (link_name(n - 1), hashlib.sha256(previous_raw).hexdigest())
            if link.previous != want:
                raise Refusal("chain.links", f"link {n} does not name link {n - 1} by path and digest ([B34])", code=5)
        out.append(link)
        previous_raw = raw
    return out


def signatures(chain: list, policy) -> int:
    """`chain.signatures`: every link whose key (the predicate's `keyid`,
    covered by the signature) is in the policy must carry a strict Ed25519
    signature by that key over the PAE ([B36], [B37]). Links by keys the
    policy does not list are judged by `chain.signers` ([P38]).

    Exactly one signature, and an envelope `keyid` hint equal to the signed
    key id, are required: [B31] allows up to 16 signatures and [B38] calls
    the hint untrusted, but [B49] ("any change to any byte of a bundle MUST
    make it fail") cannot hold for the last link otherwise, since a second
    signature could be dropped and a hint rewritten without failing
    (ambiguities A19, A20 in README.md). The hint is never used to find or
    count a key ([B38])."""
    checked = 0
    for link in chain:
        key = policy.keys.get(link.keyid)
        if key is None:
            continue
        if len(link.signatures) != 1:
            raise Refusal(
                "chain.signatures", f"link {link.index} carries {len(link.signatures)} signatures; one is required"
            )
        hint, sig = link.signatures[0]
        if hint != link.keyid:
            raise Refusal("chain.signatures", f"link {link.index}: envelope keyid hint differs from the signed key id")
        problem = verify_strict(key.public, sig, envelope.pae(link.payload_type, link.payload))
        if problem:
            raise Refusal("chain.signatures", f"link {link.index}: {problem}")
        checked += 1
    return checked


def signers(chain: list, policy) -> list:
    """`chain.signers` ([P38]): each link's key is trusted for the role it
    claims; a key the policy does not list fails with "refuse" and counts
    for nothing with "ignore". Returns the links that count."""
    counted = []
    for link in chain:
        key = policy.keys.get(link.keyid)
        if key is None:
            if policy.unknown_signers == "refuse":
                raise Refusal("chain.signers", f"link {link.index} is signed by key {link.keyid}, not in the policy")
            continue
        if link.role not in key.roles:
            raise Refusal(
                "chain.signers", f"link {link.index}: key {key.name} is not trusted for role {link.role!r}"
            )
        counted.append(link)
    return counted


def distinct_keys(counted: list, role: str) -> set:
    """[P25]: distinct key ids among the counted links claiming `role`."""
    return {link.keyid for link in counted if link.role == role}


def threshold(counted: list, policy) -> str:
    """`chain.threshold`: a required role that the chain carries has at
    least its threshold of distinct keys. A required role absent from the
    chain is left to `chain.required_roles`: read literally, the threshold
    check would fail first for every absent role (every threshold is >= 1)
    and `chain.required_roles` could never fail (ambiguity A21)."""
    parts = []
    for role in policy.required_roles:
        have = len(distinct_keys(counted, role))
        if have == 0:
            continue
        need = policy.thresholds[role]
        if have < need:
            raise Refusal("chain.threshold", f"role {role}: {have} distinct trusted key(s), the policy needs {need}")
        parts.append(f"{role} {have}/{need}")
    return ", ".join(parts)


def required_roles(counted: list, policy) -> None:
    """`chain.required_roles`: every required role is in the chain."""
    for role in policy.required_roles:
        if not distinct_keys(counted, role):
            raise Refusal("chain.required_roles", f"required role {role} is signed by no trusted key")
