"""Idempotent dispatch: every planned action is sent exactly once, or reported.

Each chunk is marked `sending` and committed before the channel is called, and its results
are committed right after. Every `sending` row names its run (`owner`) and a lease that the
run's heartbeat keeps extending: only that run settles the row while the lease lives, and
other runs leave it alone (reported as in flight). A run that dies leaves rows `sending`
whose lease ends; the next run turns them into `unknown` and reports them instead of
resending blindly. A channel that can look into its own records (an optional
`reconcile(keys) -> {key: status}`) settles them exactly; `not_sent` from it means the
message never left and may be sent again. A slot is taken, whatever the version, while one
of its rows is sending, unknown, sent, done or awaiting (see `engine.ledger.TAKEN`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from uuid import uuid4

from sqlmodel import Session

from engine.ledger import (
    AWAITING,
    DONE,
    FAILED,
    LEASE,
    MAX_ATTEMPTS,
    PENDING,
    RESOLVABLE,
    SENDING,
    SENT,
    SETTLED,
    SKIPPED,
    UNKNOWN,
    DeliveryOutcome,
    Heartbeat,
    LedgerState,
    LedgerView,
    add_rows,
    apply_reconciliation,
    get_states,
    is_sendable,
    mark_sending,
    mark_stale_sending_unknown,
    read_ledger,
    requeue,
    unique_actions,
    wall_clock,
    write_results,
)
from sop_models.actions import PlannedAction


class BatchChannel(Protocol):
    """What dispatch needs from a channel (engine.channels implement this)."""

    def send_batch(self, actions: list[PlannedAction]) -> Sequence[DeliveryOutcome]: ...


@dataclass
class DispatchReport:
    """What one dispatch did, as lists of action keys."""

    planned: int
    # settled before this run, or taken by a concurrent run (which reports it itself)
    skipped_already_done: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    awaiting_confirmation: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)  # still pending (run stopped early)
    refused: list[str] = field(default_factory=list)  # skipped by the channel's rule (cap)
    blocked: list[str] = field(default_factory=list)  # pending: the service blocks until retry_at
    retry_at: datetime | None = None
    in_flight: list[str] = field(default_factory=list)  # held by a live concurrent run
    reconciled: list[str] = field(default_factory=list)
    would_send: list[PlannedAction] = field(default_factory=list)  # dry runs only
    dry_run: bool = False
    error: str | None = None  # the channel raised; the run stopped after that chunk

    @property
    def needs_attention(self) -> bool:
        """True when some action failed, has an unknown fate, or the run stopped early."""
        return bool(self.failed or self.unknown or self.not_attempted or self.error)


SessionFactory = Callable[[], Session]


def _states(session_factory: SessionFactory, keys: Sequence[str]) -> dict[str, LedgerState]:
    if not keys:
        return {}
    with session_factory() as session:
        return get_states(session, keys)


def _reconcile(
    session_factory: SessionFactory, channel: object, ask: Sequence[str], beat: Heartbeat
) -> tuple[list[str], str | None]:
    """Ask the channel about keys of unclear fate; returns (changed keys, error)."""
    reconcile: Callable[[list[str]], Mapping[str, object]] | None
    reconcile = getattr(channel, "reconcile", None)
    if reconcile is None or not ask:
        return [], None
    try:
        found = dict(reconcile(list(ask)))
    except Exception as exc:  # a broken lookup must not stop the sends that are safe
        return [], f"reconcile failed: {type(exc).__name__}: {exc}"
    with session_factory() as session:
        wall = beat.clock()
        changed = apply_reconciliation(session, found, wall, owner=beat.owner, wall=wall)  # type: ignore[arg-type]
        session.commit()
    return changed, None


def _unclear(view: LedgerView, actions: Sequence[PlannedAction]) -> list[str]:
    """Keys (ours, and other versions' rows of our slots on the same channel) whose fate a
    channel lookup may settle: unknown, awaiting or sending, and not held by a live run."""
    channels = {a.channel for a in actions}
    found = [k for k, st in view.states.items() if st.status in RESOLVABLE]
    found += [
        k
        for k, (status, channel) in view.others.items()
        if status in RESOLVABLE and channel in channels
    ]
    return [k for k in found if k not in view.held]


def _send_chunk(
    session_factory: SessionFactory,
    channel: BatchChannel,
    chunk: list[PlannedAction],
    now: datetime,
    beat: Heartbeat,
    max_attempts: int,
    fates: dict[str, str],
    marked: set[str] | None = None,
    blocked: dict[str, datetime] | None = None,
) -> str | None:
    """Mark, commit, send, record, commit; returns the channel's error if it raised.

    `marked` holds keys of the chunk already moved to `sending` (and committed) by the
    caller; without it the chunk's keys are moved here. `fates` gets the status this run
    stored for each key it handed to the channel. Keys the service blocked (a result with
    `retry_at`, e.g. WeCom's 45009) go back to pending, attempts reset, and into `blocked`.
    """
    if marked is None:
        with session_factory() as session:
            keys = [a.key for a in chunk]
            marked = set(
                mark_sending(session, keys, now, max_attempts=max_attempts, claim=beat.claim())
            )
            session.commit()
    batch = [a for a in chunk if a.key in marked]  # a racing run took the others
    if not batch:
        return None
    error: str | None = None
    try:
        results = list(channel.send_batch(batch))
    except Exception as exc:  # the fate of the whole chunk is now unknown
        error, results = f"{type(exc).__name__}: {exc}", []
    outcomes = {r.key: r for r in results if r.key in marked}
    silent = [a.key for a in batch if a.key not in outcomes]
    with session_factory() as session:
        wall = beat.clock()
        write_results(session, list(outcomes.values()), now, owner=beat.owner, wall=wall)
        reason = f"channel raised {error}" if error else "channel returned no result"
        mark_stale_sending_unknown(
            session, now, keys=silent, reason=reason, owner=beat.owner, wall=wall
        )
        later: dict[str, datetime] = {
            k: at
            for k, r in outcomes.items()
            if r.status == FAILED and (at := getattr(r, "retry_at", None)) is not None
        }  # results of channels that predate retry_at have none
        requeue(session, list(later), now)
        session.commit()
    fates.update((key, outcome.status) for key, outcome in outcomes.items())
    fates.update((key, UNKNOWN) for key in silent)
    fates.update((key, PENDING) for key in later)
    if blocked is not None:
        blocked.update(later)
    return error


def dispatch(
    session_factory: SessionFactory,
    channel: BatchChannel,
    actions: Sequence[PlannedAction],
    *,
    now: datetime,
    chunk_size: int = 200,
    dry_run: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
    owner: str | None = None,
    lease: timedelta = LEASE,
    clock: Callable[[], datetime] = wall_clock,
) -> DispatchReport:
    """Send the due `actions` through `channel` at most once each; report every key's fate.

    `session_factory()` returns a new Session (used as a context manager). With `dry_run`
    the ledger is only read and `would_send` lists what a real run would send. `owner` names
    this run in the rows it claims (a new id by default); `lease` is how long a claim
    outlives the run's last heartbeat, on the wall `clock` (`now` is the run's own clock).

    Every write is guarded in SQL (insert only new keys, move only pending/failed rows to
    sending, settle only rows no live run holds), so a run racing this one can make it skip
    a key, never send one twice.
    """
    beat = Heartbeat(session_factory, owner or uuid4().hex, lease=lease, clock=clock)
    unique = unique_actions(actions)
    with session_factory() as session:
        view = read_ledger(session, unique, owner=beat.owner, wall=clock())
    before = {key: state.status for key, state in view.states.items()}
    if dry_run:
        report = _report(unique, view, before, {}, set(), dry_run=True)
        report.would_send = [
            a for a in unique
            if a.key not in view.posted_elsewhere and is_sendable(view.states.get(a.key))
        ]  # fmt: skip
        return report

    # Claims no live run holds (ours or other versions' rows of our slots) become unknown;
    # then the channel is asked about every key of unclear fate it can look up.
    statuses = {**before, **{k: status for k, (status, _) in view.others.items()}}
    abandoned = [k for k, status in statuses.items() if status == SENDING and k not in view.held]
    if abandoned:
        with session_factory() as session:
            wall = clock()
            mark_stale_sending_unknown(session, now, keys=abandoned, owner=beat.owner, wall=wall)
            session.commit()
    reconciled, error = _reconcile(session_factory, channel, _unclear(view, unique), beat)
    if abandoned or reconciled:
        with session_factory() as session:
            view = read_ledger(session, unique, owner=beat.owner, wall=clock())
    states = view.states
    to_send = [
        a for a in unique
        if a.key not in view.posted_elsewhere and is_sendable(states.get(a.key), max_attempts)
    ]  # fmt: skip
    fates: dict[str, str] = {}
    blocked: dict[str, datetime] = {}
    with beat:
        first = to_send[:chunk_size]
        with session_factory() as session:
            # New keys go in as `sending` for the first chunk and `pending` after it; existing
            # pending/failed keys of the first chunk are moved to `sending`. One commit.
            claim = beat.claim()
            new = [a for a in to_send if a.key not in states]
            marked = set(add_rows(session, new, now, sending={a.key for a in first}, claim=claim))
            existing = [a.key for a in first if a.key in states]
            marked.update(
                mark_sending(session, existing, now, max_attempts=max_attempts, claim=claim)
            )
            session.commit()
        for start in range(0, len(to_send), chunk_size):
            chunk_error = _send_chunk(
                session_factory, channel, to_send[start : start + chunk_size], now, beat,
                max_attempts, fates, marked=marked if start == 0 else None, blocked=blocked,
            )  # fmt: skip
            if chunk_error or blocked:  # a blocked service is not called again by this run
                error = chunk_error
                break
    mine = [k for k, status in fates.items() if status in RESOLVABLE]
    changed, reconcile_error = _reconcile(session_factory, channel, mine, beat)
    after = {**{k: s.status for k, s in view.states.items()}, **fates}
    settled_keys = [k for k in (*changed, *reconciled) if k in before or k in fates]
    rest = [a.key for a in unique if a.key not in fates or a.key in changed]
    after.update((k, state.status) for k, state in _states(session_factory, rest).items())
    report = _report(unique, view, before, after, set(fates) | set(settled_keys))
    report.reconciled = list(dict.fromkeys(reconciled + changed))
    report.error = error or reconcile_error
    if blocked:
        report.retry_at = max(blocked.values())
        report.blocked, report.not_attempted = report.not_attempted, []  # all wait for it
    return report


def _report(
    actions: Sequence[PlannedAction],
    view: LedgerView,
    before: Mapping[str, str],
    after: Mapping[str, str],
    ours: set[str],
    *,
    dry_run: bool = False,
) -> DispatchReport:
    """Each action's fate. `ours`: keys this run handed to its channel or settled by a
    lookup; any other key that went out was sent by someone else and counts as skipped."""
    report = DispatchReport(planned=len(actions), dry_run=dry_run)
    for action in actions:
        key = action.key
        status = after.get(key, before.get(key, PENDING))
        if key in view.posted_elsewhere or (key not in ours and before.get(key) in SETTLED):
            report.skipped_already_done.append(key)
        elif status == SENDING and (key in view.held or not dry_run):
            report.in_flight.append(key)  # a live run holds it and will report it
        elif status in (SENT, DONE, AWAITING) and key not in ours:
            report.skipped_already_done.append(key)  # a concurrent run settled it
        elif status in (SENT, DONE):
            report.sent.append(key)
        elif status == AWAITING:
            report.awaiting_confirmation.append(key)
        elif status == FAILED:
            report.failed.append(key)
        elif status == SKIPPED:
            report.refused.append(key)
        elif status == PENDING:
            if not dry_run:  # a dry run lists these in would_send
                report.not_attempted.append(key)
        else:
            report.unknown.append(key)
    return report
