"""The run summary `sop run` prints, in the workspace's language (sop_models.i18n)."""

from __future__ import annotations

from typing import Any

import typer

from sop_models.i18n import tr


def _mark(row: dict[str, Any]) -> str:
    return tr("missed") if row.get("missed") else tr("due") if row["due"] else tr("later")


def _hm(iso: str) -> str:
    return iso[11:16]


def _day_hm(iso: str) -> str:
    return iso[:16].replace("T", " ")


def print_summary(summary: dict[str, Any], *, name: str, where: str, dry_run: bool) -> None:
    """What `sop run` prints about a playbook day's summary (services.run_summary)."""
    head = tr("{playbook} {day} via {where}: {planned} action(s) in {batches} batch(es)")
    typer.echo(
        head.format(
            playbook=name,
            day=summary["day"],
            where=where,
            planned=summary["planned"],
            batches=summary["batches"],
        )
        + (tr(" (dry run, nothing sent)") if dry_run else "")
    )
    for warning in summary["warnings"]:
        typer.echo(tr("warning: {text}").format(text=warning), err=True)
    for row in summary["actions"]:
        typer.echo(
            f"  {_hm(row['at'])}  {_mark(row):<6}  {row['group']:<14} "
            f"{row['kind']:<10} {row['text'][:60]}"
        )
    if summary["later"]:
        typer.echo(
            "  "
            + tr("not due yet at {now}: {count} action(s), left to their scheduled runs").format(
                now=_hm(summary["now"]), count=summary["later"]
            )
        )
    missed = summary["missed"]
    if missed["count"]:
        typer.echo(
            "  "
            + tr(
                "missed: {count} action(s) due more than {minutes} min before {now} "
                "(earliest {earliest}), not sent; --catch-up sends them"
            ).format(
                count=missed["count"],
                minutes=missed["window_minutes"],
                now=_hm(summary["now"]),
                earliest=_hm(missed["earliest_due"]),
            )
        )
    totals = summary["totals"]
    if not dry_run:
        typer.echo(
            "  "
            + tr(
                "sent {sent}, failed {failed}, unknown {unknown}, "
                "awaiting confirmation {awaiting}, already sent before {skipped}"
            ).format(**totals)
        )
    if not dry_run and totals.get("refused"):
        typer.echo(
            "  "
            + tr(
                "skipped at WeCom's mass-message cap: {count} action(s), not sent and "
                "not retried (see `sop deliveries --status skipped`)"
            ).format(count=totals["refused"])
        )
    blocked = summary.get("blocked") or {}
    if blocked.get("count"):
        typer.echo(
            "  "
            + tr(
                "blocked by WeCom until {until}: {count} action(s) left pending for the next run"
            ).format(until=_day_hm(blocked["retry_at"]), count=blocked["count"])
        )
    follow = summary.get("follow_up") or {}
    if any(follow.get(k) for k in ("reminded", "cancelled", "waiting", "error")):
        not_followed = (
            tr("; not followed up: {error}").format(error=follow["error"])
            if follow["error"]
            else ""
        )
        typer.echo(
            "  "
            + tr(
                "unconfirmed mass sends: reminded {reminded}, cancelled {cancelled}, "
                "still waiting {waiting}{not_followed} (see `sop deliveries attention`)"
            ).format(
                reminded=len(follow["reminded"]),
                cancelled=len(follow["cancelled"]),
                waiting=len(follow["waiting"]),
                not_followed=not_followed,
            )
        )
    late = summary["late"]
    if late["count"]:
        typer.echo(
            "  "
            + tr(
                "late: {count} action(s) sent after their time (earliest due {earliest}, "
                "sent {sent})"
            ).format(
                count=late["count"],
                earliest=_day_hm(late["earliest_due"]),
                sent=_day_hm(late["sent_at"]),
            )
        )
    for row in summary["attention"]:
        typer.echo(
            "  "
            + tr(
                "needs attention: {group:<14} planned {planned:>3}  sent {sent:>3}  "
                "failed {failed:>3}  unknown {unknown:>3}"
            ).format(**row)
        )
    if summary["attention"]:
        typer.echo(
            "  " + tr("see `sop deliveries --since {day}`").format(day=summary["day"]), err=True
        )
