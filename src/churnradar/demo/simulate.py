"""Vectorised simulation of demo customers and their behaviour, one block of customers at a time.

Each block of `BLOCK` customers draws from its own random stream, so the data never depends on how the
writer groups blocks into chunks. Everything per customer or per event is a numpy array; Python loops run
per block and per event kind only. Days count from the first day of the history window; strings are codes
(into KINDS, PATTERNS, texts.VOCAB, ...) that `write.py` turns into text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt

from churnradar.demo import texts

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Columns = dict[str, Ints | Floats]
BLOCK = 1_000
DAY = 86_400
NEVER = 10**9  # the day of something that does not happen: a survivor's churn, a healthy decay start

KINDS = (
    "order", "payment", "communication", "ticket", "complaint", "survey", "login", "feature_use",
    "competitor_signal", "renewal_intent", "balance", "return", "visit",
)  # fmt: skip
K = {kind: i for i, kind in enumerate(KINDS)}
PATTERNS = ("healthy", *texts.CHURN_PATTERNS, "recovering")
HEALTHY, DECAY_LOGINS, CONTRACT_LAPSE, SUDDEN, RECOVERING = (
    PATTERNS.index(p) for p in ("healthy", "decay_logins", "contract_lapse", "sudden", "recovering")
)
CONTRACT_STATUSES = ("active", "expired", "renewed", "cancelled")
_CHURN_W = np.array([0, 0.16, 0.15, 0.14, 0.13, 0.12, 0.2, 0.1, 0])  # relative, over PATTERNS
_RECOVER_P = 0.06
_YEARLY_CHURN = 0.2  # before each rep's own risk factor
MAX_SEATS, MAX_MEMBERS = 200, 5000

# Per industry, in texts.INDUSTRIES order (saas, manufacturing, retail, services, education).
_IND_P = (0.30, 0.20, 0.20, 0.15, 0.15)
_CONTRACT_P = np.array([0.9, 0.4, 0.1, 0.85, 0.85])
_BALANCE_P = np.array([0.4, 0.3, 0.6, 0.2, 0.4])  # customers with a prepaid account
_ORDER_MEAN = np.array([3000.0, 30000.0, 800.0, 8000.0, 2000.0])
_UNIT_PRICE = np.array([600.0, 1500.0, 25.0, 4000.0, 1000.0])
_CONTRACT_MEAN = np.array([24000.0, 60000.0, 12000.0, 40000.0, 30000.0])
_RETURN_P = np.array([0.005, 0.04, 0.06, 0.01, 0.01])
_NPS_P = np.array([0.8, 0.3, 0.3, 0.7, 0.7])  # the others answer a 1..5 CSAT
_REPLY_HOURS = np.array([6.0, 8.0, 6.0, 3.0, 6.0])
RETAIL = texts.INDUSTRIES.index("retail")
# Events a year at activity 1, by kind and industry: the industries' rhythms.
_RATES = {
    "login": (40, 4, 6, 5, 30), "feature_use": (22, 1, 2, 2, 22), "order": (1, 16, 30, 3, 2),
    "communication": (6, 8, 3, 16, 4), "ticket": (2.5, 2.5, 0.5, 1, 1), "visit": (0.3, 2, 1.5, 2, 0.5),
    "complaint": (0.3, 0.5, 0.6, 0.5, 0.3), "competitor_signal": (0.2, 0.2, 0.15, 0.2, 0.15),
    "survey": (2, 1, 1, 2, 2), "renewal_intent": (1, 0.5, 0.3, 1, 1),
}  # fmt: skip
_ACTIVITY = 0.9  # scales all rates: about 50 events per customer-year
# Per segment (SMB, mid-market, enterprise).
_SEG_P = (0.6, 0.3, 0.1)
_SEG_ACTIVITY = np.array([0.7, 1.3, 2.5])
_SEG_VALUE = np.array([1.0, 4.0, 15.0])
_SEG_SEATS = np.array([[2, 8], [8, 40], [30, MAX_SEATS]])
_SEG_MEMBERS = np.array([[20, 200], [200, 1000], [1000, MAX_MEMBERS]])
_SEG_YEARLY_BILL = np.array([0.3, 0.5, 0.7])
_SEG_PAY_DAYS = np.array([30, 45, 60])
_TIER_W = np.array([[0.1, 0.35, 0.55], [0.3, 0.5, 0.2], [0.7, 0.25, 0.05]])  # high, medium, low

# What a pattern does once its decay is complete (progress 1), by PATTERNS column: a rate or amount becomes
# x * (1 + effect); survey_shift adds points, late_days adds days, unpaid/partial/shallow are probabilities.
_EFFECT = {
    "login": (0, -0.92, -0.7, -0.7, -0.75, -0.65, -0.8, 0, -0.7),
    "feature_use": (0, -0.95, -0.7, -0.75, -0.8, -0.65, -0.8, 0, -0.7),
    "order": (0, -0.7, -0.85, -0.7, -0.75, -0.7, -0.7, 0, -0.6),
    "communication": (0, -0.7, -0.6, -0.5, -0.6, -0.6, -0.7, 0, -0.4),
    "ticket": (0, -0.5, 0, 4, 0, 0, 0, 0, 0.5),
    "complaint": (0, 0, 1, 20, 1, 0.5, 0.5, 0, 1.5),
    "survey": (0, -0.5, -0.4, -0.2, -0.4, -0.4, -0.4, 0, -0.3),
    "competitor_signal": (0, 1, 1, 1, 80, 0.5, 2, 0, 2),
    "renewal_intent": (0, 0, 0, 0, 0, 0, 0, 0, 0),
    "visit": (0, -0.5, -0.5, -0.5, -0.5, -0.5, -0.6, 0, -0.3),
    "order_amount": (0, -0.15, -0.55, -0.15, -0.2, -0.15, -0.1, 0, -0.3),
    "return": (0, 0.5, 1.5, 2, 0.5, 0.5, 0.5, 0, 0.5),
    "reply_in": (0, 1.5, 1, 10, 2, 1.5, 2, 0, 2),
    "reply_out": (0, 0, 0, 2, 0, 0, 0, 0, 0.5),
    "survey_shift": (0, -2, -2, -5, -3, -2, -2.5, 0, -2.5),
    "intent": (0, -0.4, -0.3, -0.4, -0.5, -0.4, -0.85, 0, -0.3),
    "shallow": (0, 0.9, 0.3, 0.4, 0.5, 0.3, 0.5, 0, 0.6),
    "late_days": (0, 8, 8, 10, 8, 60, 10, 0, 10),
    "unpaid": (0, 0.05, 0.05, 0.05, 0.05, 0.5, 0.1, 0, 0.05),
    "partial": (0, 0, 0, 0, 0, 0.35, 0, 0, 0),
    "balance": (0, -0.4, -0.4, -0.4, -0.4, -0.95, -0.4, 0, -0.3),
}
_FX = {name: np.array(row, dtype=np.float64) for name, row in _EFFECT.items()}


def _cdf(weights: Sequence[Sequence[float]] | Floats) -> Floats:
    """Row-wise cumulative distribution whose last column is exactly 1."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    cdf[:, -1] = 1.0
    return np.asarray(cdf, dtype=np.float64)


# Businesses work office hours; shops and learners are busiest in the evening.
_OFFICE = [0, 0, 0, 0, 0, 0, 1, 3, 8, 14, 16, 15, 7, 10, 15, 15, 13, 9, 5, 3, 2, 1, 1, 0]
_EVENING = [0, 0, 0, 0, 0, 0, 1, 2, 5, 7, 8, 8, 7, 7, 7, 7, 7, 8, 10, 12, 12, 9, 5, 2]
_HOUR_CDF = _cdf([_OFFICE, _OFFICE, _EVENING, _OFFICE, _EVENING])
_WORKWEEK, _SHOPWEEK = [1, 1, 1, 1, 0.95, 0.2, 0.12], [0.9, 0.9, 0.9, 0.95, 1, 0.75, 0.6]
_WEEKDAY = np.array([_WORKWEEK, _WORKWEEK, _SHOPWEEK, _WORKWEEK, [1, 1, 1, 1, 0.9, 0.45, 0.35]])
# Channels (texts.CHANNELS order) of communications, complaints and competitor mentions, per industry.
_COMM_CDF = _cdf([[0.15, 0.3, 0.35, 0.05, 0.15], [0.35, 0.15, 0.3, 0.1, 0.1], [0.2, 0.1, 0.55, 0.05, 0.1],
                  [0.25, 0.2, 0.35, 0.1, 0.1], [0.15, 0.2, 0.5, 0.05, 0.1]])  # fmt: skip
_TICKET_CDF = _cdf([[0.2, 0.2, 0.1, 0, 0, 0.5]])  # mostly through the portal
_VISIT, _NPS, _CSAT = (texts.CHANNELS.index(c) for c in ("visit", "nps", "csat"))
# Feature mix per industry over texts.FEATURES; education's course completions dominate.
_FEATURE_CDF = _cdf([
    [0.25, 0.2, 0.12, 0.08, 0.12, 0.08, 0.08, 0.07, 0], [0.3, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0, 0],
    [0.3, 0.25, 0.15, 0.25, 0.03, 0.01, 0.01, 0, 0], [0.25, 0.3, 0.15, 0.1, 0.15, 0.02, 0.02, 0.01, 0],
    [0.1, 0.1, 0.05, 0.1, 0.02, 0.01, 0.01, 0.01, 0.6],
])  # fmt: skip
_DEEP = np.isin(np.array(texts.FEATURES), texts.DEEP_FEATURES)
_CNY = {
    2015: "02-19", 2016: "02-08", 2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25", 2021: "02-12",
    2022: "02-01", 2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26",
    2029: "02-13", 2030: "02-03", 2031: "01-23", 2032: "02-11", 2033: "01-31", 2034: "02-19", 2035: "02-08",
}  # fmt: skip


def _choose(rng: np.random.Generator, cdf: Floats, group: Ints) -> Ints:
    """One categorical draw per element, from the cdf row that its group selects."""
    flat = (cdf + np.arange(cdf.shape[0])[:, None]).ravel()
    picked = np.searchsorted(flat, group + rng.random(group.size), side="right") - group * cdf.shape[1]
    return np.asarray(np.minimum(picked, cdf.shape[1] - 1), dtype=np.int64)


def _between(rng: np.random.Generator, lo: Ints, hi: Ints) -> Ints:
    """Uniform integers in [lo, hi), element-wise."""
    return np.asarray(lo + (rng.random(lo.size) * (hi - lo)).astype(np.int64), dtype=np.int64)


def _text(rng: np.random.Generator, table: texts.CodeTable, lang: Ints, col: Ints) -> Ints:
    """A random text code (into texts.VOCAB) from the list for each (language, column)."""
    return np.asarray(
        table.offset[lang, col] + (rng.random(lang.size) * table.length[lang, col]), dtype=np.int64
    )


def _day_factors(start: np.datetime64, n_days: int) -> Floats:
    """Relative activity by industry and day: weekends, Chinese New Year, Golden Week, school terms, sales."""
    days = start + np.arange(n_days)
    serial = days.astype(np.int64)
    month = days.astype("M8[M]").astype(np.int64) % 12 + 1
    dom = (days - days.astype("M8[M]").astype("M8[D]")).astype(np.int64) + 1
    year = days.astype("M8[Y]").astype(np.int64) + 1970
    cny = {y: np.datetime64(f"{y}-{_CNY.get(y, '02-01')}").astype(np.int64) for y in set(year.tolist())}
    to_cny = serial - np.array([cny[y] for y in year.tolist()], dtype=np.int64)

    def when(on: Bools, factor: float) -> Floats:
        return np.where(on, factor, 1.0)

    def around_cny(lo: int, hi: int, factor: float) -> Floats:
        return when((to_cny >= lo) & (to_cny <= hi), factor)

    golden = (month == 10) & (dom <= 7)
    f = _WEEKDAY[:, (serial + 3) % 7]  # 1970-01-01 was a Thursday
    f[0] *= around_cny(-5, 8, 0.3) * when(golden, 0.5)
    f[1] *= around_cny(-10, 15, 0.15) * when(golden, 0.4) * when(month >= 11, 1.15)  # factories close longer
    f[2] *= around_cny(-20, -6, 1.4) * around_cny(-5, 6, 0.4) * when(golden, 1.3)
    f[2] *= when((month == 6) & (dom <= 18), 1.5) * when((month == 11) & (dom <= 11), 1.8)  # 618 and 双11
    f[3] *= around_cny(-5, 8, 0.3) * when(golden, 0.5)
    summer = ((month == 7) & (dom >= 10)) | (month == 8)
    f[4] *= around_cny(-21, 14, 0.3) * when(summer, 0.25) * when(month == 9, 1.3) * when(golden, 0.5)
    return np.asarray(f, dtype=np.float64)


@dataclass(frozen=True)
class World:
    """What every block shares: the window, its calendar, the sales organisation."""

    seed: int
    customers: int
    start: np.datetime64  # first day of the history; it ends the day before `start + n_days`
    n_days: int
    users: dict[str, Sequence[str | None]]
    rep_rows: Ints  # rows of `users` that are reps
    rep_risk: Floats  # some reps lose more customers than others
    churn_p: float
    day_factor: Floats = field(repr=False)  # (industry, day)
    months: Ints = field(repr=False)  # first days of the calendar months inside the window


def build_world(*, customers: int, seed: int, end: date, years: float) -> World:
    """Fix the window, calendar and sales organisation that all blocks share."""
    n_days = max(30, round(years * 365))
    start = np.datetime64(end, "D") - n_days
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    n_reps = int(np.clip(round(customers / 400), 3, 2000))
    n_teams = max(1, round(n_reps / 8))
    names, logins = texts.person_names(rng, 1 + n_teams + n_reps)
    teams = texts.team_names(n_teams)
    rep_team = np.arange(n_reps) % n_teams
    users: dict[str, Sequence[str | None]] = {
        "login": list(logins),
        "email": [f"{login}@{texts.USER_DOMAIN}" for login in logins],
        "display_name": list(names),
        "role": ["director"] + ["manager"] * n_teams + ["rep"] * n_reps,
        "team": [texts.HQ_TEAM, *teams, *(teams[t] for t in rep_team)],
        "manager": [None] + [logins[0]] * n_teams + [logins[1 + t] for t in rep_team],
    }
    firsts = ((start.astype("M8[M]") + np.arange(n_days // 28 + 2)).astype("M8[D]") - start).astype(np.int64)
    # A churn may fall up to 90 days after the window (it is still active at the end): a quarter year more.
    churn_p = 1.0 - (1.0 - _YEARLY_CHURN) ** (n_days / 365 + 0.25)
    return World(
        seed, customers, start, n_days, users,
        rep_rows=np.arange(1 + n_teams, 1 + n_teams + n_reps, dtype=np.int64),
        rep_risk=np.clip(rng.lognormal(0.0, 0.3, n_reps), 0.6, 1.7), churn_p=churn_p,
        day_factor=_day_factors(start, n_days), months=firsts[(firsts >= 0) & (firsts < n_days)],
    )  # fmt: skip


@dataclass(frozen=True)
class Block:
    """One simulated block: per-customer columns and the rows of each file, as codes, days and seconds."""

    first: int  # index of the block's first customer
    customers: Columns
    events: Columns
    contracts: Columns
    invoices: Columns


def simulate_block(world: World, block: int) -> Block:
    """Simulate customers from block * BLOCK on: who they are, what they do, what they sign and pay."""
    sim = _Customers(world, block)
    rows = _Rows()
    orders = sim.orders(rows)
    sim.activity(rows)
    contracts = sim.contracts()
    sim.renewal_checks(rows, contracts)
    invoices = sim.invoices(contracts, orders)
    paid = ~np.isnan(invoices["paid_at"])
    rows.add(
        "payment", invoices["cust"][paid], invoices["paid_at"][paid], amount=invoices["paid_amount"][paid]
    )
    return Block(sim.first, sim.columns(), rows.finish(), contracts, invoices)


class _Rows:
    """Event columns collected kind by kind, then concatenated and sorted once."""

    NUMBERS = ("amount", "value", "quantity")  # NaN is null
    CODED = ("channel", "direction", "text", "user")  # codes; -1 is null

    def __init__(self) -> None:
        self.parts: list[Columns] = []

    def add(self, kind: str, c: Ints | Floats, ts: Ints | Floats, **cols: Ints | Floats) -> None:
        """Append one kind's events (customer, seconds, columns); absent columns are null."""
        part: Columns = {
            "cust": c.astype(np.int64),
            "ts": ts.astype(np.int64),
            "kind": np.full(c.size, K[kind]),
        }
        for name in self.NUMBERS:
            part[name] = cols[name].astype(np.float64) if name in cols else np.full(c.size, np.nan)
        for name in self.CODED:
            part[name] = cols[name].astype(np.int64) if name in cols else np.full(c.size, -1)
        self.parts.append(part)

    def finish(self) -> Columns:
        """All parts as one set of columns, by customer, then time."""
        cols = {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
        order = np.lexsort((cols["kind"], cols["ts"], cols["cust"]))
        return {k: v[order] for k, v in cols.items()}


class _Customers:
    """The customers of one block, their hidden state, and the generators of what they do."""

    def __init__(self, world: World, block: int) -> None:
        self.w = world
        self.first = block * BLOCK
        n = self.n = min(BLOCK, world.customers - self.first)
        rng = self.rng = np.random.default_rng(np.random.SeedSequence(world.seed, spawn_key=(1, block)))
        self.ind = ind = rng.choice(5, n, p=_IND_P)
        self.lang = (rng.random(n) < 0.35).astype(np.int64)  # 1: an English-speaking customer
        self.seg = seg = rng.choice(3, n, p=_SEG_P)
        self.tier = _choose(rng, _cdf(_TIER_W), seg)
        # Three in four signed up in the four years before the window, the others during it.
        before = -rng.integers(1, 4 * 365, n)
        self.signup = np.where(rng.random(n) < 0.75, before, rng.integers(0, world.n_days, n))
        self.owner = rng.integers(0, world.rep_rows.size, n)
        self.level = rng.lognormal(0.0, 0.55, n) * _SEG_ACTIVITY[seg] * _ACTIVITY
        self.contract = rng.random(n) < _CONTRACT_P[ind]
        self.yearly_bill = rng.random(n) < _SEG_YEARLY_BILL[seg]
        self.prepaid = rng.random(n) < _BALANCE_P[ind]
        self.auto_renew = rng.random(n) < 0.35
        self.value = _CONTRACT_MEAN[ind] * _SEG_VALUE[seg] * rng.lognormal(0.0, 0.4, n)
        self.growth = rng.uniform(0.98, 1.12, n)
        self.order_mean = _ORDER_MEAN[ind] * np.sqrt(_SEG_VALUE[seg]) * rng.lognormal(0.0, 0.5, n)
        self.seats = _between(rng, _SEG_SEATS[seg, 0], _SEG_SEATS[seg, 1])
        self.members = _between(rng, _SEG_MEMBERS[seg, 0], _SEG_MEMBERS[seg, 1])
        self.satisfaction = np.clip(rng.normal(8.0, 1.0, n), 3.0, 10.0)
        self.intent = rng.beta(8.0, 2.0, n)
        self.reply = _REPLY_HOURS[ind] * rng.lognormal(0.0, 0.5, n)
        # Most pay a few days early; some always pay weeks late without meaning to leave.
        self.habit = np.where(rng.random(n) < 0.85, rng.normal(-4.0, 3.0, n), rng.uniform(5.0, 25.0, n))
        self.nps = rng.random(n) < _NPS_P[ind]
        self.names = rng.integers(0, 1 << 30, size=(n, 5))
        self._fate(rng)

    def _fate(self, rng: np.random.Generator) -> None:
        """Each customer's pattern, decay window and churn day."""
        n, n_days = self.n, self.w.n_days
        weights = np.tile(_CHURN_W, (n, 1))
        weights[~self.contract, CONTRACT_LAPSE] = 0.0  # without a contract nothing can lapse
        probs = weights / weights.sum(axis=1, keepdims=True)
        probs *= np.clip(self.w.churn_p * self.w.rep_risk[self.owner], 0.0, 0.9)[:, None]
        probs[:, RECOVERING] = _RECOVER_P
        probs[:, HEALTHY] = 1.0 - probs.sum(axis=1)
        pattern = _choose(rng, _cdf(probs), np.arange(n))
        first = np.maximum(0, self.signup)
        length = np.where(pattern == SUDDEN, 0, rng.integers(30, 151, n))
        c_lo, c_hi = first + length + 45, n_days + 90
        churn = _between(rng, c_lo, np.maximum(c_hi, c_lo))
        # A lapsing contract ends on the first signup anniversary (yearly terms) that leaves room for the
        # decay; where none comes before c_hi the customer stops using the product instead.
        lapse = self.signup + 365 * np.maximum(1, -((self.signup - c_lo) // 365))
        pattern = np.where((pattern == CONTRACT_LAPSE) & (lapse >= c_hi), DECAY_LOGINS, pattern)
        churn = np.where(pattern == CONTRACT_LAPSE, lapse, churn)
        churner = (pattern > HEALTHY) & (pattern < RECOVERING)
        pattern = np.where(churner & (churn >= c_hi), HEALTHY, pattern)  # signed up too late to churn
        churner &= churn < c_hi
        rec_lo = first + 30
        pattern = np.where((pattern == RECOVERING) & (rec_lo >= n_days - 120), HEALTHY, pattern)
        rec = pattern == RECOVERING
        rec_start = _between(rng, rec_lo, np.maximum(n_days - 120, rec_lo + 1))
        rec_len = rng.integers(30, 91, n)
        self.pattern = pattern
        self.churn = np.where(churner, churn, NEVER)
        self.lo, self.hi = first, np.minimum(self.churn, n_days)  # days with events: [lo, hi)
        # progress() rises from 0 at d0 to 1 at peak (the churn), and for the recovering falls back to 0.
        self.d0 = np.where(churner, churn - length, np.where(rec, rec_start, NEVER)).astype(np.float64)
        self.rise = np.where(rec, rec_len, np.maximum(length, 1)).astype(np.float64)
        self.peak = np.where(rec, rec_start + rec_len, np.where(churner, churn, 2 * NEVER)).astype(np.float64)
        self.fall = np.where(rec, rng.integers(30, 61, n), NEVER).astype(np.float64)

    def progress(self, c: Ints, day: Ints | Floats) -> Floats:
        """How far customer c's decay has gone on a day: 0 before it starts, 1 at churn."""
        up = np.clip((day - self.d0[c]) / self.rise[c], 0.0, 1.0)
        return np.asarray(up - np.clip((day - self.peak[c]) / self.fall[c], 0.0, 1.0), dtype=np.float64)

    def effect(self, name: str, c: Ints, p: Floats) -> Floats:
        """The effect `name` of customer c's pattern at progress p."""
        return np.asarray(_FX[name][self.pattern[c]] * p, dtype=np.float64)

    def seconds(self, c: Ints, day: Ints) -> Ints:
        """Seconds since the window start on `day`, at an hour typical of the customer's industry."""
        hour = _choose(self.rng, _HOUR_CDF, self.ind[c])
        return np.asarray(day * DAY + hour * 3600 + self.rng.integers(0, 3600, c.size), dtype=np.int64)

    def arrivals(self, kind: str, scale: Floats | float = 1.0) -> tuple[Ints, Ints, Floats]:
        """(customer, seconds, progress) of one kind's events: a Poisson process of varying rate, thinned."""
        rng, fx, ind = self.rng, _FX[kind][self.pattern], self.ind
        top = np.maximum(1.0, 1.0 + fx)  # the highest the pattern ever lifts the rate
        day_max = self.w.day_factor.max(axis=1)
        per_day = np.asarray(_RATES[kind])[ind] / 365 * self.level * day_max[ind] * top * scale
        days = self.hi - self.lo
        c = np.repeat(np.arange(self.n), rng.poisson(per_day * days))
        day = self.lo[c] + (rng.random(c.size) * days[c]).astype(np.int64)
        p = self.progress(c, day + 0.5)
        keep = self.w.day_factor[ind[c], day] / day_max[ind[c]] * np.maximum(0.02, 1 + fx[c] * p)
        keep = rng.random(c.size) * top[c] < keep
        c, day, p = c[keep], day[keep], p[keep]
        return c, self.seconds(c, day), p

    def orders(self, rows: _Rows) -> tuple[Ints, Ints, Floats]:
        """Orders and the returns of some of them; gives (customer, day, amount) of the orders."""
        rng = self.rng
        c, ts, p = self.arrivals("order")
        m = c.size
        amount = self.order_mean[c] * rng.lognormal(0.0, 0.45, m) * (1 + self.effect("order_amount", c, p))
        amount = np.round(amount, 2)
        qty = np.maximum(1, np.rint(amount / (_UNIT_PRICE[self.ind[c]] * rng.lognormal(0.0, 0.25, m))))
        member = np.where(self.ind[c] == RETAIL, MAX_SEATS + (self.members[c] * rng.random(m) ** 2), -1)
        rows.add("order", c, ts, amount=amount, quantity=qty, user=member)
        back = rng.random(m) < _RETURN_P[self.ind[c]] * (1 + self.effect("return", c, p))
        r_ts = ts[back] + rng.integers(2 * DAY, 21 * DAY, int(back.sum()))
        ok = r_ts < self.hi[c[back]] * DAY
        share = rng.uniform(0.1, 1.0, r_ts.size)
        r_amount, r_qty = np.round(amount[back] * share, 2), np.ceil(qty[back] * share)
        rows.add("return", c[back][ok], r_ts[ok], amount=r_amount[ok], quantity=r_qty[ok])
        return c, ts // DAY, amount

    def activity(self, rows: _Rows) -> None:
        """Everything but orders, returns, payments and renewal check-ins."""
        rng, ind, lang = self.rng, self.ind, self.lang
        c, ts, p = self.arrivals("communication")
        inbound = rng.random(c.size) < 0.45
        # value = hours the other side took to reply: the customer when inbound, us when outbound.
        hours = np.where(inbound, self.reply[c] * (1 + self.effect("reply_in", c, p)), 2.0)
        hours *= np.where(inbound, 1.0, 1 + self.effect("reply_out", c, p)) * rng.lognormal(0.0, 0.6, c.size)
        hours = np.where(rng.random(c.size) < 0.7, np.round(hours, 1), np.nan)
        channel = _choose(rng, _COMM_CDF, ind[c])
        rows.add("communication", c, ts, value=hours, channel=channel, direction=(~inbound).astype(np.int64))
        c, ts, _ = self.arrivals("ticket")
        text = _text(rng, texts.CODES["ticket"], lang[c], ind[c])
        rows.add("ticket", c, ts, channel=_choose(rng, _TICKET_CDF, 0 * c), direction=0 * c, text=text)
        for kind, table in (("complaint", "complaint"), ("competitor_signal", "competitor")):
            c, ts, _ = self.arrivals(kind)
            text = _text(rng, texts.CODES[table], lang[c], ind[c] if kind == "complaint" else 0 * c)
            rows.add(kind, c, ts, channel=_choose(rng, _COMM_CDF, ind[c]), direction=0 * c, text=text)
        c, ts, _ = self.arrivals("visit")
        rows.add("visit", c, ts, channel=np.full(c.size, _VISIT), direction=np.ones_like(c))

        c, ts, p = self.arrivals("survey")
        score = self.satisfaction[c] + rng.normal(0.0, 1.2, c.size) + self.effect("survey_shift", c, p)
        nps = self.nps[c]
        value = np.where(nps, np.clip(np.rint(score), 0, 10), np.clip(np.rint(1 + score * 0.4), 1, 5))
        band = (score >= 6.5).astype(np.int64) + (score >= 8.5)  # bad, neutral, good comments
        text = np.where(rng.random(c.size) < 0.5, _text(rng, texts.CODES["comment"], lang[c], band), -1)
        rows.add("survey", c, ts, value=value, channel=np.where(nps, _NPS, _CSAT), text=text)

        c, ts, _ = self.arrivals("login")
        rows.add("login", c, ts, user=(self.seats[c] * rng.random(c.size) ** 2).astype(np.int64))
        c, ts, p = self.arrivals("feature_use")
        feature = _choose(rng, _FEATURE_CDF, ind[c])
        # Disengaging customers fall back from deep features (api, workflow, ...) to looking at reports.
        shallow = _DEEP[feature] & (rng.random(c.size) < self.effect("shallow", c, p))
        feature = np.where(shallow, rng.integers(0, 3, c.size), feature)
        rows.add("feature_use", c, ts, text=feature, user=(self.seats[c] * rng.random(c.size) ** 2))
        c, ts, p = self.arrivals("renewal_intent", np.where(self.contract, 1.0, 0.3))
        rows.add("renewal_intent", c, ts, value=self._intent(c, p))

        c, day = self._monthly(self.prepaid)
        level = self.value[c] * 0.2 * (1 + self.effect("balance", c, self.progress(c, day)))
        level = np.round(np.maximum(level * rng.uniform(0.85, 1.15, c.size), 0.0), 2)
        rows.add("balance", c, self.seconds(c, day), value=level)

    def _intent(self, c: Ints, p: Floats) -> Floats:
        """Renewal intent scores 0..1."""
        intent = self.intent[c] * (1 + self.effect("intent", c, p)) + self.rng.normal(0.0, 0.07, c.size)
        return np.asarray(np.round(np.clip(intent, 0.0, 1.0), 2), dtype=np.float64)

    def _monthly(self, who: Bools) -> tuple[Ints, Ints]:
        """(customer, day) for the first day of each calendar month the selected customers are customers."""
        months = self.w.months
        alive = who[:, None] & (months >= self.lo[:, None]) & (months < self.hi[:, None])
        c, j = np.nonzero(alive)
        return c.astype(np.int64), months[j]

    def contracts(self) -> Columns:
        """Yearly terms from the signup anniversary that overlap the window, the last one active or ended."""
        n_terms = self.w.n_days // 365 + 3
        k = np.maximum(0, -self.signup // 365)[:, None] + np.arange(n_terms)
        start = self.signup[:, None] + 365 * k
        valid = self.contract[:, None] & (start < self.hi[:, None])
        last = valid & ~np.concatenate([valid[:, 1:], np.zeros((self.n, 1), dtype=bool)], axis=1)
        c, j = np.nonzero(valid)
        c, start, k, last = c.astype(np.int64), start[c, j], k[c, j], last[c, j]
        churned = self.churn[c] < self.w.n_days
        end = np.where(last & churned, np.minimum(start + 365, self.churn[c]), start + 365)
        status = np.where(~last, 2, np.where(~churned, 0, np.where(end == start + 365, 1, 3)))
        renews = self.auto_renew[c] & (self.pattern[c] != CONTRACT_LAPSE)
        value = np.round(self.value[c] * self.growth[c] ** k, 2)
        return {"cust": c, "term": k + 1, "start": start, "end": end, "value": value, "status": status,
                "auto_renew": renews.astype(np.int64)}  # fmt: skip

    def renewal_checks(self, rows: _Rows, contracts: Columns) -> None:
        """The account manager asks about renewal 30 to 90 days before each term ends."""
        c = contracts["cust"].astype(np.int64)
        day = contracts["end"].astype(np.int64) - self.rng.integers(30, 91, c.size)
        ok = (day >= self.lo[c]) & (day < self.hi[c])
        c, day = c[ok], day[ok]
        rows.add("renewal_intent", c, self.seconds(c, day), value=self._intent(c, self.progress(c, day)))

    def invoices(self, contracts: Columns, orders: tuple[Ints, Ints, Floats]) -> Columns:
        """Subscription invoices (monthly or yearly), monthly statements of orders, and their payment."""
        rng, months = self.rng, self.w.months
        kc, kstart = contracts["cust"].astype(np.int64), contracts["start"].astype(np.int64)
        yearly = (kstart >= self.lo[kc]) & self.yearly_bill[kc]
        mc, mday = self._monthly(self.contract & ~self.yearly_bill)
        m_amount = self.value[mc] * self.growth[mc] ** ((mday - self.signup[mc]) // 365) / 12
        oc, oday, o_amount = orders
        slot = np.searchsorted(months, oday, side="right")  # billed on the first of the next month
        billed = slot < months.size
        total = np.bincount(oc[billed] * months.size + slot[billed], o_amount[billed], self.n * months.size)
        sc, sj = np.nonzero(total.reshape(self.n, months.size) > 0)
        before_churn = months[sj] < self.hi[sc]
        sc, sj = sc[before_churn], sj[before_churn]
        cust = np.concatenate([kc[yearly], mc, sc]).astype(np.int64)
        day = np.concatenate([kstart[yearly], mday, months[sj]]).astype(np.int64)
        s_amount = total.reshape(self.n, months.size)[sc, sj]
        amount = np.round(np.concatenate([contracts["value"][yearly], m_amount, s_amount]), 2)
        order = np.lexsort((amount, day, cust))
        cust, day, amount = cust[order], day[order], amount[order]
        p = self.progress(cust, day)
        due = day + _SEG_PAY_DAYS[self.seg[cust]]
        late = self.habit[cust] + rng.normal(0.0, 4.0, cust.size)
        late += self.effect("late_days", cust, p) * rng.lognormal(0.0, 0.4, cust.size)
        paid_day = np.maximum(day + 1, due + np.rint(late).astype(np.int64))
        paid = (rng.random(cust.size) >= 0.005 + self.effect("unpaid", cust, p)) & (paid_day < self.hi[cust])
        partial = rng.random(cust.size) < self.effect("partial", cust, p)
        paid_amount = np.round(amount * np.where(partial, rng.uniform(0.3, 0.9, cust.size), 1.0), 2)
        return {
            "cust": cust, "due": due, "amount": amount,
            "issued_at": day * DAY + 9 * 3600 + rng.integers(0, 9 * 3600, cust.size),
            "paid_at": np.where(paid, self.seconds(cust, paid_day), np.nan),
            "paid_amount": np.where(paid, paid_amount, np.nan),
        }  # fmt: skip

    def columns(self) -> Columns:
        """Per-customer columns for the customers and truth files."""
        decaying = ~np.isin(self.pattern, (HEALTHY, SUDDEN))
        reason_col = np.clip(self.pattern - 1, 0, SUDDEN - 1)  # CHURN_PATTERNS follow healthy in PATTERNS
        return {
            "ind": self.ind, "lang": self.lang, "seg": self.seg, "tier": self.tier, "signup": self.signup,
            "owner": self.w.rep_rows[self.owner], "pattern": self.pattern, "churn": self.churn,
            "decay_start": np.where(decaying, self.d0, NEVER).astype(np.int64),
            "reason": _text(self.rng, texts.CODES["reason"], self.lang, reason_col),
            "names": self.names,
        }  # fmt: skip
