"""Crontab lines as APScheduler triggers, with cron's own weekday numbers.

APScheduler 3 reads a numeric weekday as 0 = Monday, while crontab (and every ops engineer) means 0 = Sunday
(7 too): `CronTrigger.from_crontab("0 6 * * 1-5")` would fire Tuesday to Saturday. The weekday field is
therefore rewritten into day names, numbers read the crontab way, before APScheduler parses the line.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from apscheduler.triggers.cron import CronTrigger

DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_NUMERIC = re.compile(r"^(\*|\d{1,2}(?:-\d{1,2})?)(?:/(\d{1,2}))?$")


def _days(item: str) -> list[int]:
    """The crontab weekdays (0 = Sunday) one comma-separated item of the weekday field names."""
    found = _NUMERIC.match(item)
    if found is None:
        raise ValueError(f"weekday {item!r} is not a number, a range or */step")
    span, step_text = found.groups()
    step = int(step_text) if step_text else 1
    if span == "*":
        low, high = 0, 6
    elif "-" in span:
        low, high = (int(part) for part in span.split("-"))
    else:
        low = high = int(span)
        if step_text:  # "1/2": from Monday on, every other day (as cron reads it)
            high = 7
    if not (0 <= low <= 7 and 0 <= high <= 7) or low > high or step < 1:
        raise ValueError(f"weekday {item!r} is out of range (0-7, 0 and 7 are Sunday)")
    return [day % 7 for day in range(low, high + 1, step)]


def weekday_names(field: str) -> str:
    """The crontab weekday field with numbers turned into day names; names and `*` pass as they are."""
    if field == "*" or not any(ch.isdigit() for ch in field):
        return field
    names: list[str] = []
    for item in field.split(","):
        if any(ch.isalpha() for ch in item):
            names.append(item)
            continue
        names.extend(DAY_NAMES[day] for day in _days(item) if DAY_NAMES[day] not in names)
    return ",".join(names)


def crontab_trigger(line: str, zone: tzinfo | str) -> CronTrigger:
    """The trigger of a five-field crontab line (minute hour day month weekday), weekdays read as cron does.

    Raises ValueError (the line's problem) for anything but five valid fields.
    """
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab line has 5 fields (minute hour day month weekday), not {len(fields)}")
    fields[4] = weekday_names(fields[4])
    return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
