"""The one time form of the format: `YYYY-MM-DDTHH:MM:SSZ` (docs/bundle-format.md
§5 `created`, §7 link `time`)."""

import re
from datetime import datetime, timezone

FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def parse_time(text):
    """A UTC datetime, or None when `text` is not of the form or not a real
    calendar time. The spec says "of the form" only; February 30, hour 24
    and second 60 are refused here (ambiguity A7 in README.md)."""
    if not isinstance(text, str) or not FORM.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
