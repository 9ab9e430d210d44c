"""Each industry's own signals in the demo (#21 item 3), drawn from their own random stream.

What the industry templates' rules read (docs/contract.md, "Industry signals"): tickets by category,
spare-part orders, declined invitations, abandoned carts, visits to the return or closing pages, late
milestones, the client's slower replies, contacts changing without a handover, course completion and
interactions. A customer heading for churn shows them more as its decay progresses
(`_Customers.progress`); healthy ones show them at their usual low rates. The block's main stream is left
as it was, so the rest of the data stays the same for a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from churnradar.demo import model, texts
from churnradar.demo.model import Floats, Ints

if TYPE_CHECKING:
    from churnradar.demo.simulate import _Customers, _Rows

SERVICES, MANUFACTURING = texts.INDUSTRIES.index("services"), texts.INDUSTRIES.index("manufacturing")


def add_signals(sim: _Customers, rows: _Rows, rng: np.random.Generator) -> None:
    """Mark the block's tickets, orders, logins and replies, and add the industries' own events."""
    for part in rows.parts:
        kind = int(part["kind"][0]) if part["kind"].size else -1
        if kind == model.K["ticket"]:
            _categorise_tickets(sim, part, rng)
        elif kind == model.K["order"]:
            _product_categories(sim, part, rng)
        elif kind == model.K["login"]:
            _core_users_leave(sim, part, rng)
        elif kind == model.K["communication"]:
            _client_replies_slow(sim, part)
    _add_streams(sim, rows, rng)


def _pick(rng: np.random.Generator, probs: Floats) -> Ints:
    """One categorical draw per row of `probs` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    draws = np.asarray(rng.random(len(probs)), dtype=np.float64)
    picked = (draws[:, None] > cum).sum(axis=1)
    return np.asarray(np.minimum(picked, probs.shape[1] - 1), dtype=np.int64)


def _progress(sim: _Customers, part: dict[str, Ints | Floats]) -> Floats:
    c = part["cust"].astype(np.int64)
    day = np.asarray(part["ts"] // model.DAY + 0.5, dtype=np.float64)
    return sim.progress(c, day)


def _categorise_tickets(sim: _Customers, part: dict[str, Ints | Floats], rng: np.random.Generator) -> None:
    """A category before each ticket's subject; defects, faults and dissatisfaction grow with the decay."""
    c, p = part["cust"].astype(np.int64), _progress(sim, part)
    mix = np.outer(1 - p, model.TICKET_MIX[0]) + np.outer(p, model.TICKET_MIX[1])
    category = _pick(rng, mix)
    lang, ind = sim.lang[c], sim.ind[c]
    subject = part["text"].astype(np.int64) - texts.CODES["ticket"].offset[lang, ind]
    table = texts.CODES["ticket_category"]
    part["text"] = table.offset[lang, category * len(texts.INDUSTRIES) + ind] + subject


def _product_categories(sim: _Customers, part: dict[str, Ints | Floats], rng: np.random.Generator) -> None:
    """Manufacturing orders name their product category; a decaying plant stops reordering spare parts."""
    c, p = part["cust"].astype(np.int64), _progress(sim, part)
    spare = 0.5 * (1 - 0.9 * p)
    probs = np.stack([spare, (1 - spare) * 0.6, (1 - spare) * 0.4], axis=1)
    words = np.array([texts.signal_word(w) for w in texts.PRODUCT_CATEGORIES])
    part["text"] = np.where(sim.ind[c] == MANUFACTURING, words[_pick(rng, probs)], part["text"])


def _core_users_leave(sim: _Customers, part: dict[str, Ints | Floats], rng: np.random.Generator) -> None:
    """As an account decays, its logins come from one or two users only: the core users stop logging in
    (all of them a third of the way into the decay)."""
    p = _progress(sim, part)
    user = part["user"].astype(np.int64)
    part["user"] = np.where((user >= 0) & (rng.random(user.size) < 3 * p), user % 2, user)


def _client_replies_slow(sim: _Customers, part: dict[str, Ints | Floats]) -> None:
    """A services client about to leave answers our messages in days instead of hours."""
    c, p = part["cust"].astype(np.int64), _progress(sim, part)
    ours = (part["direction"] == 1) & (sim.ind[c] == SERVICES)
    part["value"] = np.where(ours, np.round(part["value"] * (1 + 50 * p), 1), part["value"])


def _stream(
    sim: _Customers, rng: np.random.Generator, base: Sequence[float], lift: float
) -> tuple[Ints, Ints, Floats]:
    """(customer, seconds, progress) of one signal: `base` events a year by industry, lifted by the decay."""
    # As `_Customers.arrivals`: the highest rate drawn, then thinned by the calendar and the decay.
    factor = sim.w.day_factor
    day_max = factor.max(axis=1)[sim.ind]
    top = max(1.0, 1.0 + lift)
    per_day = np.asarray(base, dtype=np.float64)[sim.ind] / 365 * sim.level * day_max * top
    days = np.maximum(sim.hi - sim.lo, 0)
    c = np.repeat(np.arange(sim.n), rng.poisson(per_day * days))
    day = sim.lo[c] + (rng.random(c.size) * days[c]).astype(np.int64)
    p = sim.progress(c, day + 0.5)
    calendar = factor[sim.ind[c], day] / day_max[c]
    keep = rng.random(c.size) * top < calendar * np.maximum(0.02, 1 + lift * p)
    c, day, p = c[keep], day[keep], p[keep]
    seconds = day * model.DAY + rng.integers(8 * 3600, 20 * 3600, c.size)
    return c.astype(np.int64), np.asarray(seconds, dtype=np.int64), p


def _add_streams(sim: _Customers, rows: _Rows, rng: np.random.Generator) -> None:
    def stream(name: str) -> tuple[Ints, Ints, Floats]:
        base, lift = model.SIGNAL_RATES[name]
        return _stream(sim, rng, base, lift)

    def chance(p: Floats) -> Floats:
        return np.asarray(rng.random(p.size) < p, dtype=np.float64)

    c, ts, _ = stream("core_login")  # SaaS: the account's core users (up to five) log in every week or so
    rows.add("login", c, ts, user=rng.integers(0, np.minimum(sim.seats[c], 5)))
    c, ts, _ = stream("paid_feature")  # SaaS: the paid (deep) features, used less as the account decays
    deep = np.flatnonzero(model.DEEP)  # a feature's text code is its index in texts.FEATURES
    rows.add("feature_use", c, ts, text=deep[rng.integers(0, deep.size, c.size)])
    c, ts, p = stream("fault_ticket")
    table = texts.CODES["ticket_category"]
    col = texts.FAULT * len(texts.INDUSTRIES) + sim.ind[c]
    subject = (rng.random(c.size) * table.length[sim.lang[c], col]).astype(np.int64)
    portal = texts.CHANNELS.index("portal")
    text = table.offset[sim.lang[c], col] + subject
    rows.add("ticket", c, ts, channel=np.full(c.size, portal), direction=0 * c, text=text)
    c, ts, p = stream("invitation")  # value 1: accepted, 0: declined
    rows.add("invitation", c, ts, value=chance(0.85 * (1 - 0.9 * p)), direction=np.ones_like(c))
    c, ts, _ = stream("abandoned_cart")
    rows.add("abandoned_cart", c, ts)
    c, ts, _ = stream("exit_page")
    pages = np.array([texts.signal_word(w) for w in texts.PAGES])
    page = pages[rng.integers(0, pages.size, c.size)]
    rows.add("visit", c, ts, channel=np.full(c.size, model.WEB), direction=0 * c, text=page)
    c, ts, p = stream("milestone")  # value: days late, 0 or less on time
    late = chance(0.12 + 0.7 * p) > 0
    rows.add(
        "milestone", c, ts, value=np.where(late, rng.integers(1, 30, c.size), -rng.integers(0, 5, c.size))
    )
    c, ts, p = stream("contact_change")  # value 1: handed over, 0: without a handover
    rows.add("contact_change", c, ts, value=chance(0.8 * (1 - 0.9 * p)))
    c, ts, p = stream("course_progress")  # value: the completed share of a course
    done = np.asarray(np.round(np.clip(rng.beta(4.0, 3.0, c.size) * (1 - 0.85 * p), 0.0, 1.0), 2), np.float64)
    rows.add("course_progress", c, ts, value=done)
    c, ts, _ = stream("interaction")
    words = np.array([texts.signal_word(w) for w in texts.INTERACTIONS])
    rows.add("interaction", c, ts, text=words[rng.integers(0, words.size, c.size)], direction=0 * c)
