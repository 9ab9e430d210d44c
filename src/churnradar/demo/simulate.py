"""Vectorised simulation of demo customers and their behaviour, one block of customers at a time.

Each block of `BLOCK` customers draws from its own random stream, so the data never depends on how the
writer groups blocks into chunks. Everything per customer or per event is a numpy array; Python loops run
per block and per event kind only. Days count from the first day of the history window; strings are codes
(into model.KINDS, model.PATTERNS, texts.VOCAB, ...) that `write.py` turns into text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from churnradar.demo import model, texts
from churnradar.demo.model import Bools, Floats, Ints
from churnradar.demo.signals import add_signals

Columns = dict[str, Ints | Floats]
BLOCK = 1_000


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
    churn_p = 1.0 - (1.0 - model.YEARLY_CHURN) ** (n_days / 365 + 0.25)
    return World(
        seed, customers, start, n_days, users,
        rep_rows=np.arange(1 + n_teams, 1 + n_teams + n_reps, dtype=np.int64),
        rep_risk=np.clip(rng.lognormal(0.0, 0.3, n_reps), 0.6, 1.7), churn_p=churn_p,
        day_factor=model.day_factors(start, n_days), months=firsts[(firsts >= 0) & (firsts < n_days)],
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
    add_signals(sim, rows, np.random.default_rng(np.random.SeedSequence(world.seed, spawn_key=(2, block))))
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
            "kind": np.full(c.size, model.K[kind]),
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
        self.ind = ind = rng.choice(5, n, p=model.IND_P)
        self.lang = (rng.random(n) < 0.35).astype(np.int64)  # 1: an English-speaking customer
        self.seg = seg = rng.choice(3, n, p=model.SEG_P)
        self.tier = _choose(rng, model.cdf(model.TIER_W), seg)
        # Three in four signed up in the four years before the window, the others during it.
        before = -rng.integers(1, 4 * 365, n)
        self.signup = np.where(rng.random(n) < 0.75, before, rng.integers(0, world.n_days, n))
        self.owner = rng.integers(0, world.rep_rows.size, n)
        self.level = rng.lognormal(0.0, 0.55, n) * model.SEG_ACTIVITY[seg] * model.ACTIVITY
        self.contract = rng.random(n) < model.CONTRACT_P[ind]
        self.yearly_bill = rng.random(n) < model.SEG_YEARLY_BILL[seg]
        self.prepaid = rng.random(n) < model.BALANCE_P[ind]
        self.auto_renew = rng.random(n) < 0.35
        self.value = model.CONTRACT_MEAN[ind] * model.SEG_VALUE[seg] * rng.lognormal(0.0, 0.4, n)
        self.growth = rng.uniform(0.98, 1.12, n)
        self.order_mean = model.ORDER_MEAN[ind] * np.sqrt(model.SEG_VALUE[seg]) * rng.lognormal(0.0, 0.5, n)
        self.seats = _between(rng, model.SEG_SEATS[seg, 0], model.SEG_SEATS[seg, 1])
        self.members = _between(rng, model.SEG_MEMBERS[seg, 0], model.SEG_MEMBERS[seg, 1])
        self.satisfaction = np.clip(rng.normal(8.0, 1.0, n), 3.0, 10.0)
        self.intent = rng.beta(8.0, 2.0, n)
        self.reply = model.REPLY_HOURS[ind] * rng.lognormal(0.0, 0.5, n)
        # Most pay a few days early; some always pay weeks late without meaning to leave.
        self.habit = np.where(rng.random(n) < 0.85, rng.normal(-4.0, 3.0, n), rng.uniform(5.0, 25.0, n))
        self.nps = rng.random(n) < model.NPS_P[ind]
        self.names = rng.integers(0, 1 << 30, size=(n, 5))
        self._fate(rng)

    def _fate(self, rng: np.random.Generator) -> None:
        """Each customer's pattern, decay window and churn day."""
        n, n_days = self.n, self.w.n_days
        weights = np.tile(model.CHURN_W, (n, 1))
        weights[~self.contract, model.CONTRACT_LAPSE] = 0.0  # without a contract nothing can lapse
        probs = weights / weights.sum(axis=1, keepdims=True)
        probs *= np.clip(self.w.churn_p * self.w.rep_risk[self.owner], 0.0, 0.9)[:, None]
        probs[:, model.RECOVERING] = model.RECOVER_P
        probs[:, model.HEALTHY] = 1.0 - probs.sum(axis=1)
        pattern = _choose(rng, model.cdf(probs), np.arange(n))
        first = np.maximum(0, self.signup)
        length = np.where(pattern == model.SUDDEN, 0, rng.integers(30, 151, n))
        c_lo, c_hi = first + length + 45, n_days + 90
        churn = _between(rng, c_lo, np.maximum(c_hi, c_lo))
        # A lapsing contract ends on the first signup anniversary (yearly terms) that leaves room for the
        # decay; where none comes before c_hi the customer stops using the product instead.
        lapse = self.signup + 365 * np.maximum(1, -((self.signup - c_lo) // 365))
        pattern = np.where((pattern == model.CONTRACT_LAPSE) & (lapse >= c_hi), model.DECAY_LOGINS, pattern)
        churn = np.where(pattern == model.CONTRACT_LAPSE, lapse, churn)
        churner = (pattern > model.HEALTHY) & (pattern < model.RECOVERING)
        pattern = np.where(churner & (churn >= c_hi), model.HEALTHY, pattern)  # signed up too late to churn
        churner &= churn < c_hi
        rec_lo = first + 30
        pattern = np.where((pattern == model.RECOVERING) & (rec_lo >= n_days - 120), model.HEALTHY, pattern)
        rec = pattern == model.RECOVERING
        rec_start = _between(rng, rec_lo, np.maximum(n_days - 120, rec_lo + 1))
        rec_len = rng.integers(30, 91, n)
        self.pattern = pattern
        self.churn = np.where(churner, churn, model.NEVER)
        self.lo, self.hi = first, np.minimum(self.churn, n_days)  # days with events: [lo, hi)
        # progress() rises from 0 at d0 to 1 at peak (the churn), and for the recovering falls back to 0.
        self.d0 = np.where(churner, churn - length, np.where(rec, rec_start, model.NEVER)).astype(np.float64)
        self.rise = np.where(rec, rec_len, np.maximum(length, 1)).astype(np.float64)
        peak = np.where(churner, churn, 2 * model.NEVER)
        self.peak = np.where(rec, rec_start + rec_len, peak).astype(np.float64)
        self.fall = np.where(rec, rng.integers(30, 61, n), model.NEVER).astype(np.float64)

    def progress(self, c: Ints, day: Ints | Floats) -> Floats:
        """How far customer c's decay has gone on a day: 0 before it starts, 1 at churn."""
        up = np.clip((day - self.d0[c]) / self.rise[c], 0.0, 1.0)
        return np.asarray(up - np.clip((day - self.peak[c]) / self.fall[c], 0.0, 1.0), dtype=np.float64)

    def effect(self, name: str, c: Ints, p: Floats) -> Floats:
        """The effect `name` of customer c's pattern at progress p."""
        return np.asarray(model.FX[name][self.pattern[c]] * p, dtype=np.float64)

    def seconds(self, c: Ints, day: Ints) -> Ints:
        """Seconds since the window start on `day`, at an hour typical of the customer's industry."""
        hour = _choose(self.rng, model.HOUR_CDF, self.ind[c])
        return np.asarray(day * model.DAY + hour * 3600 + self.rng.integers(0, 3600, c.size), dtype=np.int64)

    def arrivals(self, kind: str, scale: Floats | float = 1.0) -> tuple[Ints, Ints, Floats]:
        """(customer, seconds, progress) of one kind's events: a Poisson process of varying rate, thinned."""
        rng, fx, ind = self.rng, model.FX[kind][self.pattern], self.ind
        top = np.maximum(1.0, 1.0 + fx)  # the highest the pattern ever lifts the rate
        day_max = self.w.day_factor.max(axis=1)
        per_day = np.asarray(model.RATES[kind])[ind] / 365 * self.level * day_max[ind] * top * scale
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
        qty = np.maximum(1, np.rint(amount / (model.UNIT_PRICE[self.ind[c]] * rng.lognormal(0.0, 0.25, m))))
        member = model.MAX_SEATS + (self.members[c] * rng.random(m) ** 2)
        member = np.where(self.ind[c] == model.RETAIL, member, -1)
        rows.add("order", c, ts, amount=amount, quantity=qty, user=member)
        back = rng.random(m) < model.RETURN_P[self.ind[c]] * (1 + self.effect("return", c, p))
        r_ts = ts[back] + rng.integers(2 * model.DAY, 21 * model.DAY, int(back.sum()))
        ok = r_ts < self.hi[c[back]] * model.DAY
        share = rng.uniform(0.1, 1.0, r_ts.size)
        r_amount, r_qty = np.round(amount[back] * share, 2), np.ceil(qty[back] * share)
        rows.add("return", c[back][ok], r_ts[ok], amount=r_amount[ok], quantity=r_qty[ok])
        return c, ts // model.DAY, amount

    def activity(self, rows: _Rows) -> None:
        """Everything but orders, returns, payments and renewal check-ins."""
        rng, ind, lang = self.rng, self.ind, self.lang
        c, ts, p = self.arrivals("communication")
        inbound = rng.random(c.size) < 0.45
        # value = hours the other side took to reply: the customer when inbound, us when outbound.
        hours = np.where(inbound, self.reply[c] * (1 + self.effect("reply_in", c, p)), 2.0)
        hours *= np.where(inbound, 1.0, 1 + self.effect("reply_out", c, p)) * rng.lognormal(0.0, 0.6, c.size)
        hours = np.where(rng.random(c.size) < 0.7, np.round(hours, 1), np.nan)
        channel = _choose(rng, model.COMM_CDF, ind[c])
        rows.add("communication", c, ts, value=hours, channel=channel, direction=(~inbound).astype(np.int64))
        c, ts, _ = self.arrivals("ticket")
        text = _text(rng, texts.CODES["ticket"], lang[c], ind[c])
        rows.add("ticket", c, ts, channel=_choose(rng, model.TICKET_CDF, 0 * c), direction=0 * c, text=text)
        for kind, table in (("complaint", "complaint"), ("competitor_signal", "competitor")):
            c, ts, _ = self.arrivals(kind)
            text = _text(rng, texts.CODES[table], lang[c], ind[c] if kind == "complaint" else 0 * c)
            rows.add(kind, c, ts, channel=_choose(rng, model.COMM_CDF, ind[c]), direction=0 * c, text=text)
        c, ts, _ = self.arrivals("visit")
        rows.add("visit", c, ts, channel=np.full(c.size, model.VISIT), direction=np.ones_like(c))

        c, ts, p = self.arrivals("survey")
        score = self.satisfaction[c] + rng.normal(0.0, 1.2, c.size) + self.effect("survey_shift", c, p)
        nps = self.nps[c]
        value = np.where(nps, np.clip(np.rint(score), 0, 10), np.clip(np.rint(1 + score * 0.4), 1, 5))
        band = (score >= 6.5).astype(np.int64) + (score >= 8.5)  # bad, neutral, good comments
        text = np.where(rng.random(c.size) < 0.5, _text(rng, texts.CODES["comment"], lang[c], band), -1)
        rows.add("survey", c, ts, value=value, channel=np.where(nps, model.NPS, model.CSAT), text=text)

        c, ts, _ = self.arrivals("login")
        rows.add("login", c, ts, user=(self.seats[c] * rng.random(c.size) ** 2).astype(np.int64))
        c, ts, p = self.arrivals("feature_use")
        feature = _choose(rng, model.FEATURE_CDF, ind[c])
        # Disengaging customers fall back from deep features (api, workflow, ...) to looking at reports.
        shallow = model.DEEP[feature] & (rng.random(c.size) < self.effect("shallow", c, p))
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
        """Yearly terms from the signup anniversary that overlap the window, the last one active or ended.

        A term always ends on its anniversary: a customer who leaves mid-term has it `cancelled` (the files
        hold no cancellation date), but its end date stays what the contract said when it was signed, so the
        end date never tells an earlier as-of date when the customer will go. A lapsing customer switches
        auto-renewal off for its last term only, during the decay, so earlier terms keep its habit.
        """
        n_terms = self.w.n_days // 365 + 3
        k = np.maximum(0, -self.signup // 365)[:, None] + np.arange(n_terms)
        start = self.signup[:, None] + 365 * k
        valid = self.contract[:, None] & (start < self.hi[:, None])
        last = valid & ~np.concatenate([valid[:, 1:], np.zeros((self.n, 1), dtype=bool)], axis=1)
        c, j = np.nonzero(valid)
        c, start, k, last = c.astype(np.int64), start[c, j], k[c, j], last[c, j]
        churned = self.churn[c] < self.w.n_days
        end = start + 365
        status = np.where(~last, 2, np.where(~churned, 0, np.where(self.churn[c] >= end, 1, 3)))
        renews = self.auto_renew[c] & ~(last & (self.pattern[c] == model.CONTRACT_LAPSE))
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
        due = day + model.SEG_PAY_DAYS[self.seg[cust]]
        late = self.habit[cust] + rng.normal(0.0, 4.0, cust.size)
        late += self.effect("late_days", cust, p) * rng.lognormal(0.0, 0.4, cust.size)
        paid_day = np.maximum(day + 1, due + np.rint(late).astype(np.int64))
        paid = (rng.random(cust.size) >= 0.005 + self.effect("unpaid", cust, p)) & (paid_day < self.hi[cust])
        partial = rng.random(cust.size) < self.effect("partial", cust, p)
        paid_amount = np.round(amount * np.where(partial, rng.uniform(0.3, 0.9, cust.size), 1.0), 2)
        return {
            "cust": cust, "due": due, "amount": amount,
            "issued_at": day * model.DAY + 9 * 3600 + rng.integers(0, 9 * 3600, cust.size),
            "paid_at": np.where(paid, self.seconds(cust, paid_day), np.nan),
            "paid_amount": np.where(paid, paid_amount, np.nan),
        }  # fmt: skip

    def columns(self) -> Columns:
        """Per-customer columns for the customers and truth files."""
        decaying = ~np.isin(self.pattern, (model.HEALTHY, model.SUDDEN))
        # CHURN_PATTERNS follow healthy in PATTERNS
        reason_col = np.clip(self.pattern - 1, 0, model.SUDDEN - 1)
        return {
            "ind": self.ind, "lang": self.lang, "seg": self.seg, "tier": self.tier, "signup": self.signup,
            "owner": self.w.rep_rows[self.owner], "pattern": self.pattern, "churn": self.churn,
            "decay_start": np.where(decaying, self.d0, model.NEVER).astype(np.int64),
            "reason": _text(self.rng, texts.CODES["reason"], self.lang, reason_col),
            "names": self.names,
        }  # fmt: skip
