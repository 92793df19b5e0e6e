"""The one time form of the format, docs/bundle-format.md §5 "Times" [B53]:
exactly 20 ASCII characters `YYYY-MM-DDTHH:MM:SSZ`, UTC, an instant that
exists in the proleptic Gregorian calendar, the year from 1970 to 9998, no
leap second. Used for the manifest's `created` and `expires`, a link's
`time` and the attestation's `startedOn` and `finishedOn`.
"""

import re
from datetime import datetime, timezone

FORM = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
FIRST_YEAR = 1970
LAST_YEAR = 9998


def parse_time(text):
    """A UTC datetime, or None when `text` is not a time of [B53]."""
    if not isinstance(text, str) or len(text) != 20:
        return None
    m = FORM.fullmatch(text)  # `[0-9]` on a str matches ASCII digits only
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups())
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # a month or a day that does not exist
        return None
