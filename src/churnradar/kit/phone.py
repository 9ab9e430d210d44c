"""Phone numbers in E.164 form ("+8613800138000"): what text messages may be sent to."""

from __future__ import annotations

import re

MAX_INPUT = 32
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# Spaces, dashes, dots and parentheses people type between digits; nothing else is dropped.
_SEPARATORS = re.compile(r"[\s\-.()]")


def normalize_phone(raw: str) -> str | None:
    """The E.164 form of `raw` ("+86 138-0013-8000" becomes "+8613800138000"), or None when it is not one."""
    if len(raw) > MAX_INPUT:
        return None
    compact = _SEPARATORS.sub("", raw.strip())
    return compact if _E164.fullmatch(compact) else None
