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

from engine.actions import PlannedAction
from engine.ledger import (
    AWAITING,
    DONE,
    FAILED,
    MAX_ATTEMPTS,
    PENDING,
    RESOLVABLE,
    SENT,
    SETTLED,
    DeliveryOutcome,
    apply_reconciliation,
    claim,
    get_states,
    is_sendable,
    mark_sending,
    mark_stale_sending_unknown,
    record_results,
    settled_under_other_keys,
    unique_actions,
)


class BatchChannel(Protocol):
    """What dispatch needs from a channel (engine.channels implement this)."""

    def send_batch(self, actions: list[PlannedAction]) -> Sequence[DeliveryOutcome]: ...


@dataclass
class DispatchReport:
    """What one dispatch did, as lists of action keys."""

    planned: int
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


def _statuses(session_factory: SessionFactory, keys: Sequence[str]) -> dict[str, str]:
    with session_factory() as session:
        return {key: state.status for key, state in get_states(session, keys).items()}


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
) -> str | None:
    """Mark, commit, send, record, commit; returns the channel's error if it raised."""
    with session_factory() as session:
        moved = set(mark_sending(session, [a.key for a in chunk], now, max_attempts=max_attempts))
        session.commit()
    batch = [a for a in chunk if a.key in moved]  # a racing run took the others
    if not batch:
        return None
    error: str | None = None
    try:
        results = list(channel.send_batch(batch))
    except Exception as exc:  # the fate of the whole chunk is now unknown
        error, results = f"{type(exc).__name__}: {exc}", []
    outcomes = {r.key: r for r in results if r.key in moved}
    silent = [a.key for a in batch if a.key not in outcomes]
    with session_factory() as session:
        record_results(session, list(outcomes.values()), now)
        reason = f"channel raised {error}" if error else "channel returned no result"
        mark_stale_sending_unknown(session, now, keys=silent, reason=reason)
        session.commit()
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
    """
    unique = unique_actions(actions)
    with session_factory() as session:
        posted_elsewhere = settled_under_other_keys(session, unique)
    unique = [a for a in unique if a.key not in posted_elsewhere]
    keys = [a.key for a in unique]
    before = _statuses(session_factory, keys)
    if dry_run:
        with session_factory() as session:
            rows = get_states(session, keys)
            would = [a for a in unique if is_sendable(rows.get(a.key), max_attempts)]
        report = _report(unique, before, before, dry_run=True)
        report.would_send = would
        report.skipped_already_done.extend(sorted(posted_elsewhere))
        report.planned += len(posted_elsewhere)
        return report

    with session_factory() as session:
        mark_stale_sending_unknown(session, now, keys=keys)
        session.commit()
    # `before` still holds: the stale `sending` rows just became `unknown`, both resolvable.
    reconciled, error = _reconcile(session_factory, channel, keys, now, before)
    with session_factory() as session:
        to_send = claim(session, unique, now, max_attempts=max_attempts)
        session.commit()
    for start in range(0, len(to_send), chunk_size):
        chunk_error = _send_chunk(
            session_factory, channel, to_send[start : start + chunk_size], now, max_attempts
        )
        if chunk_error:
            error = chunk_error
            break
    after = _statuses(session_factory, keys)
    changed, reconcile_error = _reconcile(session_factory, channel, keys, now, after)
    if changed:
        after = _statuses(session_factory, keys)
    report = _report(unique, before, after)
    report.reconciled = list(dict.fromkeys(reconciled + changed))
    report.skipped_already_done.extend(sorted(posted_elsewhere))
    report.planned += len(posted_elsewhere)
    report.error = error or reconcile_error
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
