"""The built-in worker jobs, registered in `churnradar.worker.registry.jobs`: evaluate daily at its time,
then the digest and snapshot pruning; check task deadlines and deliver the outbox by period.

Another domain's job (source syncs, model retraining) registers the same way, from a module this one
imports; `churnradar worker` runs them all. Connected sources (churnradar.source) are checked every minute
and each syncs when its own cron is due; the churn model is retrained weekly, before that day's
evaluation (churnradar.worker.scheduler).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from churnradar.auth import service as auth_service
from churnradar.auth.schemas import Principal
from churnradar.config import Settings
from churnradar.effectiveness import service as effectiveness_service
from churnradar.evaluation import service as evaluation_service
from churnradar.evaluation import training
from churnradar.indicator.service import prune_snapshots
from churnradar.intervention.jobs import check_deadlines, send_digest
from churnradar.kit.clock import Clock, SystemClock
from churnradar.notification.service import deliver
from churnradar.source import service as source_service
from churnradar.worker import repository
from churnradar.worker.registry import Job, JobContext, daily_at, jobs, ordered, register
from churnradar.worker.scheduler import Scheduler

log = logging.getLogger(__name__)
# The lease an evaluation started by hand holds while it runs, renewed every minute: one at a time, and a
# killed process's lease expires within minutes, so the next start is not refused for long.
EVALUATE_NOW = "evaluate_now"
EVALUATE_NOW_TTL = timedelta(minutes=5)
EVALUATE_NOW_RENEW_SECONDS = 60.0


def evaluate(ctx: JobContext) -> str:
    """Evaluate as of today (local), the evaluation's summary line."""
    summary = evaluation_service.evaluate(ctx.engine, as_of=ctx.today, settings=ctx.settings)
    # The effectiveness page reads the day's figures stored here rather than computing them per first visit.
    effectiveness_service.store_figures(
        ctx.engine, as_of=ctx.today, now=ctx.now.astimezone(UTC).replace(tzinfo=None)
    )
    return summary.log_line()


def last_evaluated(ctx: JobContext) -> datetime | None:
    """When the latest succeeded evaluation started, so a restart does not evaluate the same day again."""
    return evaluation_service.last_started(ctx.engine)


@dataclass(frozen=True)
class EvaluationState:
    """An evaluation started by hand, as an admin sees it: running since when, and the last one's end."""

    running_since: datetime | None  # naive UTC, while one started by hand runs
    last_finished: datetime | None  # naive UTC, of the latest succeeded evaluation (by hand or scheduled)


def evaluation_state(engine: Engine, *, clock: Clock | None = None) -> EvaluationState:
    """Whether an evaluation started by hand runs now, and when the latest evaluation finished."""
    now = (clock or SystemClock()).now()
    return EvaluationState(
        repository.held_since(engine, EVALUATE_NOW, now=now), evaluation_service.last_finished(engine)
    )


def start_evaluation(
    engine: Engine, settings: Settings, *, actor: Principal | None, clock: Clock | None = None
) -> threading.Thread | None:
    """Start the evaluation the worker runs (as of today, through the same job) in a background thread,
    or None while one started by hand still runs. The start is audited; the lease is renewed while the
    evaluation runs and released when it ends, failed or not (a failure is logged; the run ledger keeps
    only succeeded runs)."""
    clock = clock or SystemClock()
    now = clock.now()
    holder = f"{actor.login if actor else 'cli'}:{uuid.uuid4().hex[:12]}"
    if not repository.acquire(engine, EVALUATE_NOW, holder, now=now, ttl=EVALUATE_NOW_TTL):
        return None
    context = JobContext(engine=engine, settings=settings, now=now.replace(tzinfo=UTC))
    with engine.begin() as conn:
        auth_service.record(conn, actor, "start", "evaluation", None, {"as_of": str(context.today)}, at=now)

    done = threading.Event()

    def renew() -> None:
        while not done.wait(EVALUATE_NOW_RENEW_SECONDS):
            repository.acquire(engine, EVALUATE_NOW, holder, now=clock.now(), ttl=EVALUATE_NOW_TTL)

    def run() -> None:
        renewer = threading.Thread(target=renew, name="evaluate-now-lease", daemon=True)
        renewer.start()
        try:
            log.info("evaluation started by hand: %s", evaluate(context))
        except Exception:  # the thread has no caller to tell: logged, and the lease let go below
            log.exception("evaluation started by hand failed")
        finally:
            done.set()
            renewer.join()
            repository.release(engine, EVALUATE_NOW, holder)

    thread = threading.Thread(target=run, name="evaluate-now", daemon=True)
    thread.start()
    return thread


def digest(ctx: JobContext) -> str:
    """Queue today's digest of open tasks (once a day: its dedup key holds the day)."""
    queued = send_digest(ctx.engine, settings=ctx.settings, day=ctx.today)
    return f"{queued} digests queued"


def prune(ctx: JobContext) -> str | None:
    """Let old snapshot dates go (CHURNRADAR_SNAPSHOTS__*)."""
    pruned = prune_snapshots(ctx.engine, today=ctx.today, policy=ctx.settings.snapshots)
    return f"pruned {len(pruned.dates)} snapshot dates ({pruned.rows:,} values)" if pruned.dates else None


def deadlines(ctx: JobContext) -> str | None:
    """Remind, escalate and chase by the tasks' deadlines."""
    done = check_deadlines(ctx.engine, settings=ctx.settings)
    return f"deadlines: {done.as_dict()}" if done.notifications else None


def source_syncs(ctx: JobContext) -> str | None:
    """Sync every connected source whose own cron is due (each source's schedule lives with it)."""
    done = source_service.sync_due(ctx.engine, ctx.settings, ctx.now.astimezone(UTC).replace(tzinfo=None))
    if not done:
        return None
    return "synced: " + ", ".join(f"{s.source} {s.status}" for s in done)


def retrain_model(ctx: JobContext) -> str:
    """Train the churn model on the latest history; the previous model stays active when it ranks better."""
    try:
        report = training.retrain(ctx.engine, ctx.settings, ctx.now.astimezone(UTC).replace(tzinfo=None))
    except ValueError as exc:  # too little labelled history yet (NotEnoughHistoryError is a ValueError)
        return f"model not retrained: {exc}"
    kept = "" if report["retrain"]["activated"] else f"; version {report['active_version']} stays active"
    return f"model version {report['version']} trained, AUC {report['model'].get('auc')}{kept}"


def delivery(ctx: JobContext) -> str | None:
    """Send what the outbox holds that is due."""
    summary = deliver(ctx.engine, settings=ctx.settings)
    return f"delivered: {summary.as_dict()}" if summary.sent or summary.dead else None


# Sources first, so an evaluation due at the same moment sees what they brought.
register(Job("source_syncs", lambda s: str(s.worker.source_syncs_every_seconds), source_syncs, order=5))
register(Job("retrain_model", lambda s: s.worker.retrain_schedule, retrain_model, order=7))
register(Job("evaluate", daily_at, evaluate, order=10, last_run=last_evaluated))
register(Job("digest", daily_at, digest, order=20))
register(Job("prune_snapshots", daily_at, prune, order=30))
register(Job("deadlines", lambda s: str(s.worker.deadlines_every_seconds), deadlines, order=40))
register(Job("deliver", lambda s: str(s.worker.deliver_every_seconds), delivery, order=90))


def scheduler(engine: Engine, settings: Settings, clock: Clock | None = None) -> Scheduler:
    """A scheduler over every registered job."""
    return Scheduler(engine, settings, ordered(jobs), clock or SystemClock())
