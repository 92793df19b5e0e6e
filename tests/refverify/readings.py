"""Where docs/bundle-format.md or docs/policy.md allow two readings, the
reference does not guess: each such place asks `refuses(id, condition)`
or `first(id)` here, and names the ambiguity (README.md, "Ambiguities",
R1...). The reference takes its own reading; when a bundle reaches a place
where the readings differ, checks.py verifies it a second time under the
other reading and reports both outcomes: that bundle is undecided by the
spec, never counted as agreement.
"""

# Ids whose other reading is taken in this run (checks.py sets it).
ALTERNATE = set()
# Ids whose readings gave different answers in this run.
HIT = set()

# README.md "Ambiguities": the reading the reference takes, and the other.
ABOUT = {
    # Closed in the spec at the commit README.md names: R1, R3-R7.
}


def refuses(rid: str, condition: bool) -> bool:
    """The reference's reading refuses when `condition` holds; the other
    reading does not."""
    if condition:
        HIT.add(rid)
    return condition and rid not in ALTERNATE


def first(rid: str) -> bool:
    """True under the reference's reading of a choice between two answers
    (exit codes, checks), False under the other; the caller says when the
    choice matters by calling this only then."""
    HIT.add(rid)
    return rid not in ALTERNATE
