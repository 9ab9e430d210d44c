"""The control group: a random but stable share of customers whose new alert would open a task is held out.

The choice is a keyed hash (HMAC-SHA256 with the secret key) of the alert's identity (the customer's source
id, the rule, the day it opened), read as a number in [0, 1): below `control_share` means held out. The same
alert always lands in the same arm, in any database and on any rerun; without the key nobody can tell in
advance which customers will be held out. Python's `random` is not used: it is neither stable across runs
nor keyed.

A held-out customer gets no task and no notification while any of its alerts stays open: every open alert of
the customer is muted `holdout` (the alert lifecycle keeps it so and mutes the customer's later alerts the
same way). The draw is recorded as an alert event with `DRAW_CAUSE`; the customers drawn to be worked have it
in their task's `created` history (`arm`, `as_of`), so the effectiveness report compares exactly the draws.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

DRAW_CAUSE = "muted: holdout (control group draw)"
INTERVENED = "intervened"


def draw(key: bytes, *, customer: str, rule: str, opened_on: date) -> float:
    """The alert's stable position in [0, 1): a keyed hash of its identity."""
    message = f"holdout|{customer}|{rule}|{opened_on.isoformat()}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_out(key: bytes, share: float, *, customer: str, rule: str, opened_on: date) -> bool:
    """True when the alert falls in the control group (never when `share` is 0)."""
    return share > 0 and draw(key, customer=customer, rule=rule, opened_on=opened_on) < share
