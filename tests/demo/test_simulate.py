"""The demo simulator: canonical files, determinism, consistency, and the behaviour it is meant to show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from churnradar.demo import texts
from churnradar.demo.write import DemoSummary, generate_demo

END = pd.Timestamp("2025-01-01")
START = END - pd.Timedelta(days=365)
DAY = pd.Timedelta(days=1)
COLUMNS = {
    "users": ["login", "email", "display_name", "role", "team", "manager"],
    "customers": ["customer_id", "name", "owner", "team", "segment", "industry", "tier", "signup_date",
                  "status", "churned_at", "churn_reason"],
    "events": ["customer_id", "ts", "kind", "event_id", "amount", "value", "quantity", "channel", "direction",
               "text", "user"],
    "contracts": ["contract_id", "customer_id", "start_date", "end_date", "value", "status", "auto_renew"],
    "invoices": ["invoice_id", "customer_id", "due_date", "amount", "issued_at", "paid_at", "paid_amount"],
    "truth": ["customer_id", "pattern", "decay_start", "churn_date"],
}  # fmt: skip
CORE_KINDS = {
    "order", "payment", "communication", "ticket", "complaint", "survey", "login", "feature_use",
    "competitor_signal", "renewal_intent", "balance", "return", "visit",
}  # fmt: skip
# The industries' own signals (docs/contract.md, "Industry signals").
SIGNAL_KINDS = {
    "invitation",
    "abandoned_cart",
    "milestone",
    "contact_change",
    "course_progress",
    "interaction",
}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")


@dataclass
class Demo:
    """The files of one run as data frames: text exactly as written (CSV), or typed (Parquet)."""

    summary: DemoSummary
    users: pd.DataFrame
    customers: pd.DataFrame
    events: pd.DataFrame
    contracts: pd.DataFrame
    invoices: pd.DataFrame
    truth: pd.DataFrame


def _generate(out: Path, **kwargs: object) -> DemoSummary:
    options: dict[str, object] = {"customers": 300, "seed": 42, "end": END.date()} | kwargs
    return generate_demo(out, **options)  # type: ignore[arg-type]


def _as_text(summary: DemoSummary) -> Demo:
    frames = {
        name: pd.read_csv(path, dtype=str, keep_default_na=False) for name, path in summary.paths.items()
    }
    return Demo(summary, **frames)


def _typed(summary: DemoSummary) -> Demo:
    frames = {
        name: pq.read_table(path).to_pandas(date_as_object=False)
        for name, path in summary.paths.items()
        if name != "truth"
    }
    truth = pd.read_csv(summary.paths["truth"], parse_dates=["decay_start", "churn_date"])
    return Demo(summary, **frames, truth=truth)


def _stamp(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column.replace("", None))


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """300 customers in CSV, read back as text."""
    return _as_text(_generate(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """3,000 customers in Parquet: enough of each pattern for the behavioural checks to be stable."""
    return _typed(_generate(tmp_path_factory.mktemp("population"), customers=3000, fmt="parquet"))


class TestFormat:
    def test_files_have_exactly_the_canonical_columns(self, demo: Demo) -> None:
        assert set(demo.summary.paths) == set(COLUMNS)
        for name, columns in COLUMNS.items():
            assert demo.summary.paths[name].name == f"{name}.csv"
            header = demo.summary.paths[name].read_text(encoding="utf-8").splitlines()[0]
            assert header.split(",") == columns, name
            assert demo.summary.rows[name] == len(getattr(demo, name)) > 0, name

    def test_dates_and_timestamps_are_iso_8601(self, demo: Demo) -> None:
        checks = [(demo.events.ts, TIMESTAMP), (demo.invoices.issued_at, TIMESTAMP),
                  (demo.invoices.paid_at, TIMESTAMP), (demo.customers.signup_date, DATE),
                  (demo.customers.churned_at, DATE), (demo.contracts.start_date, DATE),
                  (demo.invoices.due_date, DATE), (demo.truth.churn_date, DATE)]  # fmt: skip
        for column, pattern in checks:
            filled = column[column != ""]
            assert len(filled) > 0, column.name
            assert filled.str.match(pattern).all(), column.name

    def test_values_are_the_documented_ones(self, demo: Demo) -> None:
        assert set(demo.events.kind) == CORE_KINDS | SIGNAL_KINDS
        value = demo.events.value.replace("", None).astype(float)
        for kind, low, high in (("invitation", 0, 1), ("contact_change", 0, 1), ("course_progress", 0, 1)):
            assert value[demo.events.kind == kind].between(low, high).all(), kind
        categories = {*texts.TICKET_CATEGORIES["zh"], *texts.TICKET_CATEGORIES["en"]}
        tickets = demo.events.text[demo.events.kind == "ticket"].str.split(r"[:：]", n=1).str[0]
        assert set(tickets) == categories
        assert set(demo.events.direction) == {"", "in", "out"}
        assert set(demo.customers.status) == {"active", "churned"}
        assert set(demo.customers.industry) == set(texts.INDUSTRIES)
        assert set(demo.customers.segment) == set(texts.SEGMENTS)
        assert set(demo.contracts.status) <= {"active", "expired", "renewed", "cancelled"}
        assert set(demo.contracts.auto_renew) == {"true", "false"}
        assert set(demo.users.role) == {"director", "manager", "rep"}
        assert demo.users.login.str.fullmatch(r"[a-z]+\.[a-z]+\d*").all()
        features = demo.events.text[demo.events.kind == "feature_use"]
        assert set(features) <= set(texts.FEATURES)
        assert "course_complete" in set(features)
        surveys = demo.events[demo.events.kind == "survey"]
        scores = surveys.value.astype(float)
        assert set(surveys.channel) == {"nps", "csat"}
        assert scores[surveys.channel == "nps"].between(0, 10).all()
        assert scores[surveys.channel == "csat"].between(1, 5).all()
        assert demo.events.value[demo.events.kind == "renewal_intent"].astype(float).between(0, 1).all()

    def test_vocabulary_needs_no_csv_quoting(self) -> None:
        words = [*texts.VOCAB, *texts.ZH_CITIES, *texts.EN_BRANDS, *texts.EN_WORDS, texts.HQ_TEAM]
        assert not [w for w in words if set(w) & {",", '"', "\n", "\r"}]

    def test_parquet_holds_the_same_rows(self, demo: Demo, tmp_path: Path) -> None:
        summary = _generate(tmp_path, fmt="parquet")
        assert summary.rows == demo.summary.rows
        assert summary.paths["events"].suffix == ".parquet"
        assert summary.paths["truth"].suffix == ".csv"
        events = pq.read_table(summary.paths["events"]).to_pandas()
        assert list(events.columns) == COLUMNS["events"]
        assert events.event_id.tolist() == demo.events.event_id.tolist()
        assert (events.ts.dt.strftime("%Y-%m-%dT%H:%M:%S") == demo.events.ts).all()


class TestDeterminism:
    def test_same_seed_gives_identical_files(self, demo: Demo, tmp_path: Path) -> None:
        _generate(tmp_path)
        assert _files(tmp_path) == _files(demo.summary.out_dir)

    def test_another_seed_gives_other_data(self, demo: Demo, tmp_path: Path) -> None:
        other = _as_text(_generate(tmp_path, seed=43))
        assert not other.events.equals(demo.events)
        assert not other.customers.name.equals(demo.customers.name)

    def test_chunk_size_does_not_change_the_data(self, tmp_path: Path) -> None:
        finished: list[int] = []
        _generate(tmp_path / "small", customers=2100, chunk_customers=1000, progress=finished.append)
        _generate(tmp_path / "large", customers=2100)
        assert finished == [1000, 2000, 2100]
        assert _files(tmp_path / "small") == _files(tmp_path / "large")

    @pytest.mark.parametrize(
        "kwargs",
        [pytest.param({"customers": 0}, id="no-customers"), pytest.param({"years": 0}, id="no-years"),
         pytest.param({"fmt": "xlsx"}, id="unknown-format")],
    )  # fmt: skip
    def test_bad_arguments_are_refused(self, tmp_path: Path, kwargs: dict[str, object]) -> None:
        with pytest.raises(ValueError, match=r"customers|format"):
            _generate(tmp_path, **kwargs)


class TestConsistency:
    def test_events_fall_inside_the_window_and_the_customer_life(self, demo: Demo) -> None:
        ts = _stamp(demo.events.ts)
        assert ts.min() >= START
        assert ts.max() < END
        life = demo.customers.set_index("customer_id")
        assert not (ts >= _stamp(demo.events.customer_id.map(life.churned_at))).any()
        assert not (ts < _stamp(demo.events.customer_id.map(life.signup_date))).any()
        paid = _stamp(demo.invoices.paid_at)
        assert paid.max() < END
        assert not (paid >= _stamp(demo.invoices.customer_id.map(life.churned_at))).any()
        issued = _stamp(demo.invoices.issued_at)
        assert issued.max() < END
        assert not (issued >= _stamp(demo.invoices.customer_id.map(life.churned_at))).any()

    def test_ids_are_unique_and_references_resolve(self, demo: Demo) -> None:
        for ids in (demo.events.event_id, demo.customers.customer_id, demo.contracts.contract_id,
                    demo.invoices.invoice_id, demo.users.login):  # fmt: skip
            assert ids.is_unique, ids.name
        customers = set(demo.customers.customer_id)
        for frame in (demo.events, demo.contracts, demo.invoices, demo.truth):
            assert set(frame.customer_id) <= customers
        reps = demo.users[demo.users.role == "rep"].set_index("login")
        assert set(demo.customers.owner) <= set(reps.index)
        assert (demo.customers.team == demo.customers.owner.map(reps.team)).all()
        assert set(demo.users.manager) - {""} <= set(demo.users.login[demo.users.role != "rep"])

    def test_money_is_never_negative(self, demo: Demo) -> None:
        for column in (
            demo.events.amount,
            demo.invoices.amount,
            demo.invoices.paid_amount,
            demo.contracts.value,
        ):
            assert (column[column != ""].astype(float) >= 0).all()

    def test_truth_matches_the_customers_file(self, demo: Demo) -> None:
        truth = demo.truth.set_index("customer_id").loc[demo.customers.customer_id]
        churn = _stamp(truth.churn_date)
        churned = (churn < END).to_numpy()
        assert ((demo.customers.status == "churned").to_numpy() == churned).all()
        assert (demo.customers.churned_at.to_numpy()[churned] == truth.churn_date.to_numpy()[churned]).all()
        assert (demo.customers.churn_reason[~churned] == "").all()
        assert (demo.customers.churn_reason[churned] != "").all()
        assert (churn >= END).any(), "some churn after the end, for forward-looking backtests"
        assert set(truth.pattern[truth.churn_date == ""]) <= {"healthy", "recovering"}

    def test_contracts_end_with_the_customer(self, demo: Demo) -> None:
        customers = demo.customers.rename(columns={"status": "customer_status"})
        contracts = demo.contracts.merge(customers[["customer_id", "customer_status", "churned_at"]])
        last = contracts.drop_duplicates("customer_id", keep="last")
        assert (contracts.drop(last.index).status == "renewed").all()
        assert (last.status[last.customer_status == "active"] == "active").all()
        ended = last[last.customer_status == "churned"]
        assert len(ended) > 0
        assert set(ended.status) <= {"expired", "cancelled"}
        expired = ended[ended.status == "expired"]
        assert (expired.end_date == expired.churned_at).all()
        # A cancelled contract was left mid-term, so the churn falls inside its term.
        cancelled = ended[ended.status == "cancelled"]
        assert len(cancelled) > 0
        assert (cancelled.start_date < cancelled.churned_at).all()
        assert (cancelled.churned_at < cancelled.end_date).all()

    def test_contract_terms_never_end_on_the_churn_they_do_not_know_of(self, demo: Demo) -> None:
        # The end date is fixed when the contract is signed: always a year from its start, whatever
        # the customer does later (a leaver's contract is cancelled, not shortened).
        term = pd.to_datetime(demo.contracts.end_date) - pd.to_datetime(demo.contracts.start_date)
        assert (term == 365 * DAY).all()


class TestBehaviour:
    def test_churn_rate_and_pattern_mix(self, population: Demo) -> None:
        churned = (population.customers.status == "churned").mean()
        assert 0.1 < churned < 0.2
        patterns = population.truth.pattern.value_counts(normalize=True)
        assert 0.65 < patterns["healthy"] < 0.8
        assert set(patterns.index) == {"healthy", "recovering", *texts.CHURN_PATTERNS}

    def test_industries_keep_their_own_rhythm(self, population: Demo) -> None:
        events = population.events.merge(population.customers[["customer_id", "industry"]])
        per_customer = (
            events.groupby(["kind", "industry"]).size() / population.customers.industry.value_counts()
        )
        assert per_customer["login"]["saas"] > 3 * per_customer["login"]["manufacturing"]
        assert per_customer["communication"].idxmax() == "services"
        assert per_customer["order"].idxmax() == "retail"
        assert per_customer["ticket"]["manufacturing"] > per_customer["ticket"]["retail"]
        orders = events[events.kind == "order"]
        amount = orders.amount.groupby(orders.industry).mean()
        assert amount["manufacturing"] > 5 * amount["retail"]

    def test_fewer_events_at_weekends_chinese_new_year_and_school_holidays(self, population: Demo) -> None:
        events = population.events.merge(population.customers[["customer_id", "industry"]])
        per_weekday = events.ts.dt.day_of_week.value_counts()
        assert per_weekday[[5, 6]].mean() < 0.7 * per_weekday[[0, 1, 2, 3, 4]].mean()

        def per_day(frame: pd.DataFrame, first: str, last: str) -> float:
            ts = frame.ts
            return float(
                ((ts >= first) & (ts < last)).sum() / (pd.Timestamp(last) - pd.Timestamp(first)).days
            )

        assert per_day(events, "2024-02-08", "2024-02-17") < 0.6 * per_day(events, "2024-03-04", "2024-04-01")
        school = events[events.industry == "education"]
        assert per_day(school, "2024-07-15", "2024-08-31") < 0.5 * per_day(school, "2024-09-02", "2024-10-01")

    def test_decaying_churners_fade_and_healthy_customers_do_not(self, population: Demo) -> None:
        truth = population.truth.merge(population.customers[["customer_id", "signup_date"]])
        # Churned in the window after a decay with 90 days of history before it (NaT compares false).
        faded = truth[
            (truth.churn_date < END) & (truth.decay_start - 90 * DAY >= truth.signup_date.clip(lower=START))
        ]
        healthy = truth[(truth.pattern == "healthy") & (truth.signup_date < START)]
        # Healthy customers are measured over the decaying ones' calendar windows, so seasons cancel out.
        same = faded.iloc[[i % len(faded) for i in range(len(healthy))]]
        assert self._fade(population, faded.customer_id, faded) < 0.75
        assert 0.85 < self._fade(population, healthy.customer_id, same) < 1.15

    @staticmethod
    def _fade(population: Demo, customers: pd.Series, windows: pd.DataFrame) -> float:
        """Events a day in the 30 days before churn_date over those in the 90 days before decay_start."""
        spans = pd.DataFrame({"customer_id": customers.to_numpy(), "until": windows.churn_date.to_numpy(),
                              "before": windows.decay_start.to_numpy()})  # fmt: skip
        events = population.events[["customer_id", "ts"]].merge(spans)
        last = ((events.ts >= events.until - 30 * DAY) & (events.ts < events.until)).sum() / 30
        before = ((events.ts >= events.before - 90 * DAY) & (events.ts < events.before)).sum() / 90
        return float(last / before)

    @staticmethod
    def _decaying(
        population: Demo, frame: pd.DataFrame, column: str, pattern: str
    ) -> tuple[pd.DataFrame, pd.Series]:
        """Rows of `frame` inside their customer's decay (healthy: anywhere), and days spanned per pattern."""
        truth = population.truth.merge(population.customers[["customer_id", "signup_date"]])
        truth = truth[truth.pattern.isin([pattern, "healthy"])]
        begin = truth.decay_start.fillna(truth.signup_date).clip(lower=START)
        stop = truth.churn_date.fillna(END).clip(upper=END)
        spans = truth.assign(begin=begin, stop=stop)[["customer_id", "pattern", "begin", "stop"]]
        rows = frame.merge(spans)
        inside = rows[(rows[column] >= rows.begin) & (rows[column] < rows.stop)]
        return inside, (stop - begin).clip(lower=pd.Timedelta(0)).dt.days.groupby(truth.pattern).sum()

    @pytest.mark.parametrize(
        ("pattern", "kind", "lift"),
        [pytest.param("competitor", "competitor_signal", 5, id="competitor-mentions"),
         pytest.param("decay_service", "complaint", 3, id="service-complaints")],
    )  # fmt: skip
    def test_patterns_raise_their_signals(
        self, population: Demo, pattern: str, kind: str, lift: float
    ) -> None:
        events = population.events[population.events.kind == kind]
        inside, days = self._decaying(population, events, "ts", pattern)
        per_day = inside.groupby("pattern").size() / days
        assert per_day[pattern] > lift * per_day["healthy"]

    def test_service_decay_slows_the_customers_replies(self, population: Demo) -> None:
        events = population.events
        replies = events[(events.kind == "communication") & (events.direction == "in") & events.value.notna()]
        inside, _ = self._decaying(population, replies, "ts", "decay_service")
        hours = inside.value.groupby(inside.pattern).median()
        assert hours["decay_service"] > 2 * hours["healthy"]

    def test_late_payers_pay_late_or_not_at_all(self, population: Demo) -> None:
        inside, _ = self._decaying(population, population.invoices, "issued_at", "late_payment")
        days_late = (inside.paid_at.dt.normalize() - inside.due_date).dt.days
        late = (days_late.isna() | (days_late > 14)).groupby(inside.pattern).mean()
        assert late["late_payment"] > 2 * late["healthy"]

    def test_lapsing_contracts_expire_unrenewed_after_low_renewal_intent(self, population: Demo) -> None:
        lapsed = population.truth[
            (population.truth.pattern == "contract_lapse") & (population.truth.churn_date < END)
        ]
        last = population.contracts.drop_duplicates("customer_id", keep="last").set_index("customer_id")
        assert (last.status.loc[lapsed.customer_id] == "expired").all()
        assert not last.auto_renew.loc[lapsed.customer_id].any()
        intents = population.events[population.events.kind == "renewal_intent"]
        inside, _ = self._decaying(population, intents, "ts", "contract_lapse")
        mean = inside.value.groupby(inside.pattern).mean()
        assert mean["contract_lapse"] < mean["healthy"] - 0.2
