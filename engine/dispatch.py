"""Idempotent dispatch: every planned action is sent exactly once, or reported.

Each chunk is marked `sending` and committed before the channel is called, and its results
are committed right after. A process that dies in between leaves rows `sending`; the next
run turns them into `unknown` and reports them instead of resending blindly. A channel that
can look into its own records (an optional `reconcile(keys) -> {key: status}`) settles
them exactly; `not_sent` from it means the message never left and may be sent again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlmodel import Session

from engine.ledger import (
    AWAITING,
    DONE,
    FAILED,
    MAX_ATTEMPTS,
    PENDING,
    RESOLVABLE,
    SENDING,
    SENT,
    SETTLED,
    UNKNOWN,
    DeliveryOutcome,
    LedgerState,
    add_rows,
    apply_reconciliation,
    get_states,
    is_sendable,
    mark_sending,
    mark_stale_sending_unknown,
    read_ledger,
    unique_actions,
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
    session_factory: SessionFactory,
    channel: object,
    keys: Sequence[str],
    now: datetime,
    statuses: Mapping[str, str],
) -> tuple[list[str], str | None]:
    """Ask the channel about unknown/sending/awaiting keys; returns (changed keys, error)."""
    reconcile: Callable[[list[str]], Mapping[str, object]] | None
    reconcile = getattr(channel, "reconcile", None)
    if reconcile is None:
        return [], None
    ask = [key for key in keys if statuses.get(key) in RESOLVABLE]
    if not ask:
        return [], None
    try:
        found = dict(reconcile(ask))
    except Exception as exc:  # a broken lookup must not stop the sends that are safe
        return [], f"reconcile failed: {type(exc).__name__}: {exc}"
    with session_factory() as session:
        changed = apply_reconciliation(session, found, now)  # type: ignore[arg-type]
        session.commit()
    return changed, None


def _send_chunk(
    session_factory: SessionFactory,
    channel: BatchChannel,
    chunk: list[PlannedAction],
    now: datetime,
    max_attempts: int,
    fates: dict[str, str],
    marked: set[str] | None = None,
) -> str | None:
    """Mark, commit, send, record, commit; returns the channel's error if it raised.

    `marked` holds keys of the chunk already moved to `sending` (and committed) by the
    caller; without it the chunk's keys are moved here. `fates` gets the status this run
    stored for each key it handed to the channel.
    """
    if marked is None:
        with session_factory() as session:
            keys = [a.key for a in chunk]
            marked = set(mark_sending(session, keys, now, max_attempts=max_attempts))
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
        write_results(session, list(outcomes.values()), now)
        reason = f"channel raised {error}" if error else "channel returned no result"
        mark_stale_sending_unknown(session, now, keys=silent, reason=reason)
        session.commit()
    fates.update((key, outcome.status) for key, outcome in outcomes.items())
    fates.update((key, UNKNOWN) for key in silent)
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
) -> DispatchReport:
    """Send the due `actions` through `channel` at most once each; report every key's fate.

    `session_factory()` returns a new Session (used as a context manager). With `dry_run`
    the ledger is only read and `would_send` lists what a real run would send.

    One read of the ledger decides what to do; every write is guarded in SQL (insert only
    new keys, move only pending/failed rows to sending, settle only sending/unknown/awaiting
    rows), so a run racing this one can make it skip a key, never send one twice.
    """
    unique = unique_actions(actions)
    with session_factory() as session:
        view = read_ledger(session, unique)
    posted_elsewhere, states = view.posted_elsewhere, view.states
    unique = [a for a in unique if a.key not in posted_elsewhere]
    keys = [a.key for a in unique]
    before = {key: state.status for key, state in states.items()}
    if dry_run:
        report = _report(unique, before, before, dry_run=True)
        report.would_send = [a for a in unique if is_sendable(states.get(a.key), max_attempts)]
        return _with_elsewhere(report, posted_elsewhere)

    stale = [key for key in keys if before.get(key) == SENDING]
    settled_elsewhere: set[str] = set()
    if stale:
        with session_factory() as session:
            marked_unknown = mark_stale_sending_unknown(session, now, keys=stale)
            session.commit()
        # A `sending` row the guarded update did not change was settled by the run that was
        # sending it while we read: that run reports it, this one skips it.
        settled_elsewhere = set(stale) - set(marked_unknown)
    # `before` still holds: the stale `sending` rows just became `unknown`, both resolvable.
    resolvable = {k: v for k, v in before.items() if k not in settled_elsewhere}
    reconciled, error = _reconcile(session_factory, channel, keys, now, resolvable)
    if stale or reconciled:
        states.update(_states(session_factory, [*stale, *reconciled]))
    to_send = [a for a in unique if is_sendable(states.get(a.key), max_attempts)]
    first = to_send[:chunk_size]
    with session_factory() as session:
        # New keys go in as `sending` for the first chunk and `pending` after it; existing
        # pending/failed keys of the first chunk are moved to `sending`. One commit.
        new = [a for a in to_send if a.key not in states]
        marked = set(add_rows(session, new, now, sending={a.key for a in first}))
        existing = [a.key for a in first if a.key in states]
        marked.update(mark_sending(session, existing, now, max_attempts=max_attempts))
        session.commit()
    fates: dict[str, str] = {}
    for start in range(0, len(to_send), chunk_size):
        chunk_error = _send_chunk(
            session_factory, channel, to_send[start : start + chunk_size], now, max_attempts,
            fates, marked=marked if start == 0 else None,
        )  # fmt: skip
        if chunk_error:
            error = chunk_error
            break
    after = {key: state.status for key, state in states.items()}
    after.update(fates)
    # Keys this run meant to send but did not hand to its channel: never reached (the run
    # stopped early), or taken by a concurrent run, which then reports them itself.
    unreached = _states(session_factory, [a.key for a in to_send if a.key not in fates])
    after.update((key, state.status) for key, state in unreached.items())
    taken = {key for key, state in unreached.items() if state.status in (SENDING, *SETTLED)}
    changed, reconcile_error = _reconcile(session_factory, channel, keys, now, after)
    if changed:
        after.update((k, state.status) for k, state in _states(session_factory, changed).items())
    report = _report(unique, {**before, **dict.fromkeys(taken | settled_elsewhere, SENT)}, after)
    report.reconciled = list(dict.fromkeys(reconciled + changed))
    report.error = error or reconcile_error
    return _with_elsewhere(report, posted_elsewhere)


def _with_elsewhere(report: DispatchReport, posted_elsewhere: set[str]) -> DispatchReport:
    """Count actions whose slot went out under another version's key as already done."""
    report.skipped_already_done.extend(sorted(posted_elsewhere))
    report.planned += len(posted_elsewhere)
    return report


def _report(
    actions: Sequence[PlannedAction],
    before: Mapping[str, str],
    after: Mapping[str, str],
    *,
    dry_run: bool = False,
) -> DispatchReport:
    report = DispatchReport(planned=len(actions), dry_run=dry_run)
    for action in actions:
        key = action.key
        if before.get(key) in SETTLED:
            report.skipped_already_done.append(key)
            continue
        status = after.get(key, PENDING)
        if status in (SENT, DONE):
            report.sent.append(key)
        elif status == AWAITING:
            report.awaiting_confirmation.append(key)
        elif status == FAILED:
            report.failed.append(key)
        elif status == PENDING:
            if not dry_run:  # a dry run lists these in would_send
                report.not_attempted.append(key)
        else:
            report.unknown.append(key)
    return report
