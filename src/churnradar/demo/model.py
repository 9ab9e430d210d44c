"""What the demo simulator draws from: the rate and pattern-effect tables, the mixes, and the calendar.

Tables are indexed by code: per industry in texts.INDUSTRIES order, per segment (SMB, mid-market,
enterprise), per pattern in PATTERNS order. `day_factors` turns the calendar (weekdays, Chinese New Year,
Golden Week, school terms, shopping festivals) into each industry's relative activity by day.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from churnradar.demo import texts

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
DAY = 86_400
NEVER = 10**9  # the day of something that does not happen: a survivor's churn, a healthy decay start

KINDS = (
    "order", "payment", "communication", "ticket", "complaint", "survey", "login", "feature_use",
    "competitor_signal", "renewal_intent", "balance", "return", "visit",
    # Each industry's own signals (#21 item 3): documented kinds of the canonical format (docs/contract.md).
    "invitation", "abandoned_cart", "milestone", "contact_change", "course_progress", "interaction",
)  # fmt: skip
K = {kind: i for i, kind in enumerate(KINDS)}
PATTERNS = ("healthy", *texts.CHURN_PATTERNS, "recovering")
HEALTHY, DECAY_LOGINS, CONTRACT_LAPSE, SUDDEN, RECOVERING = (
    PATTERNS.index(p) for p in ("healthy", "decay_logins", "contract_lapse", "sudden", "recovering")
)
CONTRACT_STATUSES = ("active", "expired", "renewed", "cancelled")
CHURN_W = np.array([0, 0.16, 0.15, 0.14, 0.13, 0.12, 0.2, 0.1, 0])  # relative, over PATTERNS
RECOVER_P = 0.06
YEARLY_CHURN = 0.2  # before each rep's own risk factor
MAX_SEATS, MAX_MEMBERS = 200, 5000

# Per industry, in texts.INDUSTRIES order (saas, manufacturing, retail, services, education).
IND_P = (0.30, 0.20, 0.20, 0.15, 0.15)
CONTRACT_P = np.array([0.9, 0.4, 0.1, 0.85, 0.85])
BALANCE_P = np.array([0.4, 0.3, 0.6, 0.2, 0.4])  # customers with a prepaid account
ORDER_MEAN = np.array([3000.0, 30000.0, 800.0, 8000.0, 2000.0])
UNIT_PRICE = np.array([600.0, 1500.0, 25.0, 4000.0, 1000.0])
CONTRACT_MEAN = np.array([24000.0, 60000.0, 12000.0, 40000.0, 30000.0])
RETURN_P = np.array([0.005, 0.04, 0.06, 0.01, 0.01])
NPS_P = np.array([0.8, 0.3, 0.3, 0.7, 0.7])  # the others answer a 1..5 CSAT
REPLY_HOURS = np.array([6.0, 8.0, 6.0, 3.0, 6.0])
RETAIL = texts.INDUSTRIES.index("retail")
# Events a year at activity 1, by kind and industry: the industries' rhythms.
RATES = {
    "login": (40, 4, 6, 5, 30), "feature_use": (22, 1, 2, 2, 22), "order": (1, 16, 30, 3, 2),
    "communication": (6, 8, 3, 16, 4), "ticket": (2.5, 2.5, 0.5, 1, 1), "visit": (0.3, 2, 1.5, 2, 0.5),
    "complaint": (0.3, 0.5, 0.6, 0.5, 0.3), "competitor_signal": (0.2, 0.2, 0.15, 0.2, 0.15),
    "survey": (2, 1, 1, 2, 2), "renewal_intent": (1, 0.5, 0.3, 1, 1),
}  # fmt: skip
# The industries' own signals, events a year at activity 1 (saas, manufacturing, retail, services, education),
# and how a churner's decay lifts them at progress 1 (a rate becomes x * (1 + lift * progress)).
SIGNAL_RATES = {
    "core_login": ((60, 0, 0, 0, 0), -0.95), "paid_feature": ((30, 0, 0, 0, 0), -0.9),
    "fault_ticket": ((0, 2, 0, 0, 0), 6.0), "invitation": ((0, 6, 0, 1, 0), 0.0),
    "abandoned_cart": ((0, 0, 4, 0, 0), 3.0), "exit_page": ((0, 0, 0.3, 0, 0), 30.0),
    "milestone": ((0, 0, 0, 8, 0), 0.0), "contact_change": ((0, 0, 0, 0.5, 0), 4.0),
    "course_progress": ((0, 0, 0, 0, 40), -0.3), "interaction": ((0, 0, 0, 0, 150), -0.9),
}  # fmt: skip
# Ticket categories (texts.TICKET_CATEGORIES order) of a healthy customer's tickets, and of a churner's at
# progress 1 (mixed by progress): defects, faults and dissatisfaction take over.
TICKET_MIX = np.array([[0.15, 0.1, 0.05, 0.4, 0.3], [0.4, 0.2, 0.3, 0.05, 0.05]])
ACTIVITY = 0.9  # scales all rates: about 50 events per customer-year
# Per segment (SMB, mid-market, enterprise).
SEG_P = (0.6, 0.3, 0.1)
SEG_ACTIVITY = np.array([0.7, 1.3, 2.5])
SEG_VALUE = np.array([1.0, 4.0, 15.0])
SEG_SEATS = np.array([[2, 8], [8, 40], [30, MAX_SEATS]])
SEG_MEMBERS = np.array([[20, 200], [200, 1000], [1000, MAX_MEMBERS]])
SEG_YEARLY_BILL = np.array([0.3, 0.5, 0.7])
SEG_PAY_DAYS = np.array([30, 45, 60])
TIER_W = np.array([[0.1, 0.35, 0.55], [0.3, 0.5, 0.2], [0.7, 0.25, 0.05]])  # high, medium, low

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
FX = {name: np.array(row, dtype=np.float64) for name, row in _EFFECT.items()}


def cdf(weights: Sequence[Sequence[float]] | Floats) -> Floats:
    """Row-wise cumulative distribution whose last column is exactly 1."""
    w = np.asarray(weights, dtype=np.float64)
    cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    cum[:, -1] = 1.0
    return np.asarray(cum, dtype=np.float64)


# Businesses work office hours; shops and learners are busiest in the evening.
_OFFICE = [0, 0, 0, 0, 0, 0, 1, 3, 8, 14, 16, 15, 7, 10, 15, 15, 13, 9, 5, 3, 2, 1, 1, 0]
_EVENING = [0, 0, 0, 0, 0, 0, 1, 2, 5, 7, 8, 8, 7, 7, 7, 7, 7, 8, 10, 12, 12, 9, 5, 2]
HOUR_CDF = cdf([_OFFICE, _OFFICE, _EVENING, _OFFICE, _EVENING])
_WORKWEEK, _SHOPWEEK = [1, 1, 1, 1, 0.95, 0.2, 0.12], [0.9, 0.9, 0.9, 0.95, 1, 0.75, 0.6]
_WEEKDAY = np.array([_WORKWEEK, _WORKWEEK, _SHOPWEEK, _WORKWEEK, [1, 1, 1, 1, 0.9, 0.45, 0.35]])
# Channels (texts.CHANNELS order) of communications, complaints and competitor mentions, per industry.
COMM_CDF = cdf([[0.15, 0.3, 0.35, 0.05, 0.15], [0.35, 0.15, 0.3, 0.1, 0.1], [0.2, 0.1, 0.55, 0.05, 0.1],
                [0.25, 0.2, 0.35, 0.1, 0.1], [0.15, 0.2, 0.5, 0.05, 0.1]])  # fmt: skip
TICKET_CDF = cdf([[0.2, 0.2, 0.1, 0, 0, 0.5]])  # mostly through the portal
VISIT, NPS, CSAT, WEB = (texts.CHANNELS.index(c) for c in ("visit", "nps", "csat", "web"))
# Feature mix per industry over texts.FEATURES; education's course completions dominate.
FEATURE_CDF = cdf([
    [0.25, 0.2, 0.12, 0.08, 0.12, 0.08, 0.08, 0.07, 0], [0.3, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0, 0],
    [0.3, 0.25, 0.15, 0.25, 0.03, 0.01, 0.01, 0, 0], [0.25, 0.3, 0.15, 0.1, 0.15, 0.02, 0.02, 0.01, 0],
    [0.1, 0.1, 0.05, 0.1, 0.02, 0.01, 0.01, 0.01, 0.6],
])  # fmt: skip
DEEP = np.isin(np.array(texts.FEATURES), texts.DEEP_FEATURES)
_CNY = {
    2015: "02-19", 2016: "02-08", 2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25", 2021: "02-12",
    2022: "02-01", 2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17", 2027: "02-06", 2028: "01-26",
    2029: "02-13", 2030: "02-03", 2031: "01-23", 2032: "02-11", 2033: "01-31", 2034: "02-19", 2035: "02-08",
}  # fmt: skip


def day_factors(start: np.datetime64, n_days: int) -> Floats:
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
