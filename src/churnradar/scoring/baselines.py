"""Baselines the model must beat: rank by recency alone, and BG/NBD "probability alive" for buyers.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") is fitted here by maximum
likelihood with scipy: `lifetimes` has been unmaintained since 2020 and `pymc-marketing` brings about 800 MB
and a C compiler for four parameters. The likelihood and P(alive) follow the paper's closed forms; the tests
recover known parameters from data simulated by the model itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln

Floats = npt.NDArray[np.float64]


def _days_before(keys: pd.DataFrame, days: pd.DataFrame) -> pd.DataFrame:
    """Each (customer_id, as_of) of `keys` with `last`: the latest day in `days` strictly before as_of."""
    events = days.assign(day=pd.to_datetime(days["day"]).astype("datetime64[us]")).sort_values("day")
    rows = keys[["customer_id", "as_of"]].assign(
        _at=pd.to_datetime(keys["as_of"]).astype("datetime64[us]"), _order=np.arange(len(keys))
    )
    merged = pd.merge_asof(
        rows.sort_values("_at"),
        events[["customer_id", "day"]].rename(columns={"day": "last"}),
        left_on="_at",
        right_on="last",
        by="customer_id",
        direction="backward",
        allow_exact_matches=False,
    )
    return merged.sort_values("_order").reset_index(drop=True)


def recency_risk(keys: pd.DataFrame, activity_days: pd.DataFrame) -> Floats:
    """Days since the last order, payment or login before each as-of date; never active ranks riskiest."""
    merged = _days_before(keys, activity_days)
    days = (merged["_at"] - merged["last"]).dt.days.astype("float64")
    return np.asarray(days.fillna(days.max() + 1 if days.notna().any() else 0.0), dtype=np.float64)


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters: purchase rate Gamma(r, alpha), dropout probability Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def p_alive(self, x: Floats, t_x: Floats, t: Floats) -> Floats:
        """P(still alive at T) given x repeat purchases, the last at t_x (time from the first purchase)."""
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_ratio = (self.r + x) * (np.log(self.alpha + t) - np.log(self.alpha + t_x))
            odds = np.where(x > 0, self.a / (self.b + x - 1) * np.exp(log_ratio), 0.0)
        return np.asarray(1.0 / (1.0 + odds), dtype=np.float64)


def bgnbd_loglik(params: Sequence[float] | Floats, x: Floats, t_x: Floats, t: Floats) -> Floats:
    """Per-customer log-likelihood of (x, t_x, T) under BG/NBD with params (r, alpha, a, b)."""
    r, alpha, a, b = params
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(
            x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf
        )
    return np.asarray(base + np.logaddexp(alive, dropped), dtype=np.float64)


def fit_bgnbd(x: Floats, t_x: Floats, t: Floats) -> BgNbd:
    """Maximum-likelihood parameters (optimised on their logarithms, so they stay positive)."""
    scale = float(np.mean(t)) or 1.0

    def loss(logs: Floats) -> float:
        return -float(bgnbd_loglik(np.exp(logs), x, t_x, t).sum()) / len(x)

    start = np.log([1.0, scale, 1.0, 1.0])
    result = minimize(loss, start, method="L-BFGS-B", bounds=[(-10.0, 10.0)] * 4)
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(float(r), float(alpha), float(a), float(b))


def purchase_history(order_days: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per buyer before `as_of`: x repeat purchase days, t_x and T in weeks from the first purchase."""
    days = pd.to_datetime(order_days["day"])
    before = order_days.assign(day=days)[days < pd.Timestamp(as_of)]
    grouped = before.groupby("customer_id")["day"].agg(["min", "max", "nunique"])
    return pd.DataFrame(
        {
            "x": (grouped["nunique"] - 1).astype("float64"),
            "t_x": (grouped["max"] - grouped["min"]).dt.days / 7.0,
            "T": (pd.Timestamp(as_of) - grouped["min"]).dt.days / 7.0,
        }
    )


def bgnbd_risk(keys: pd.DataFrame, order_days: pd.DataFrame) -> Floats:
    """1 - P(alive) per (customer_id, as_of) of `keys`, the model fitted at each date on its buyers; NaN
    for customers without a purchase before the date (BG/NBD says nothing about them)."""
    risk = np.full(len(keys), np.nan)
    as_of = keys["as_of"].to_numpy()
    for day in pd.unique(as_of):
        history = purchase_history(order_days, day)
        if len(history) < 10:
            continue
        x, t_x, t = (history[c].to_numpy(np.float64) for c in ("x", "t_x", "T"))
        alive = pd.Series(fit_bgnbd(x, t_x, t).p_alive(x, t_x, t), index=history.index)
        rows = np.flatnonzero(as_of == day)
        risk[rows] = 1.0 - keys["customer_id"].iloc[rows].map(alive).to_numpy(np.float64, na_value=np.nan)
    return risk
