"""The chain checks of docs/policy.md §9: `chain.links`, `chain.signatures`,
`chain.signers`, `chain.threshold`, `chain.required_roles` (all exit 5 but
a malformed link, exit 3), from docs/bundle-format.md §7 and policy.md
§4.3 and §5.
"""

import hashlib

import envelope
from ed25519strict import verify_strict
import layout
import limits
import readings
from refusal import Refusal


def links(data: bytes, after, manifest_digest: str) -> list:
    """`chain.links` (docs/policy.md §9, [P39]): first the form of every
    entry after the manifest ([B3] names, then each link's form: exit 3);
    then at least one link, each over this manifest ([B33]) and link N
    naming link N-1 by path and digest ([B34]): exit 5."""
    parsed = []
    limits.links(after)  # §12 [B62]: at most 256 links of 16 KiB
    for n, entry in enumerate(layout.links(after), start=1):
        raw = data[entry.data_offset : entry.data_offset + entry.size]
        parsed.append(envelope.parse(n, raw))
    if not parsed:
        raise Refusal("chain.links", "the bundle carries no chain link", code=5)
    previous_raw = None
    for link in parsed:
        if link.manifest_digest != manifest_digest:
            raise Refusal("chain.links", f"link {link.index} is over manifest {link.manifest_digest}, not this one ([B33])", code=5)
        if link.index > 1:
            want = (layout.link_name(link.index - 1), hashlib.sha256(previous_raw).hexdigest())
            if link.previous != want:
                raise Refusal("chain.links", f"link {link.index} does not name link {link.index - 1} by path and digest ([B34])", code=5)
        previous_raw = link.raw
    return parsed


def signatures(chain: list, policy) -> int:
    """`chain.signatures`: every link whose key (the predicate's `keyid`,
    covered by the signature) is in the policy carries a strict Ed25519
    signature by that key over the PAE ([B36], [B37]). The hint was held
    equal to the key id by the link's form ([B38]) and is never used to
    find a key. Links by keys the policy does not list are left to
    `chain.signers` ([P38])."""
    checked = 0
    for link in chain:
        key = policy.keys.get(link.keyid)
        if key is None:
            continue
        problem = verify_strict(key.public, link.signature, envelope.pae(link.payload_type, link.payload))
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
    chain is left to `chain.required_roles` (docs/policy.md §9)."""
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
