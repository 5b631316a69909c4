"""`sop audit`: list and filter the audit trail; `sop audit verify`: prove it is intact."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

import typer

from report.times import local_time
from services import audit_trail
from sop_models.errors import AuditError
from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import datetime_option, in_zone
from versions.audit import AuditRecord

audit_app = typer.Typer(help="The audit trail: who changed what, when, and proof it is intact.")


@audit_app.callback(invoke_without_command=True)
def audit_list(
    ctx: typer.Context,
    sop: str = typer.Option(None, "--sop", help="Only this SOP."),
    actor: str = typer.Option(None, "--actor", help="Only this person."),
    action: str = typer.Option(None, "--action", help="save, candidate, promote, reject, ..."),
    since: datetime = datetime_option(None, "--since", help="From this date/time."),
    until: datetime = datetime_option(None, "--until", help="Up to this date/time."),
    as_json: bool = typer.Option(False, "--json", help="Print records as JSON."),
) -> None:
    """List audit records, oldest first, filtered by SOP, actor, action or time range.

    Times print in the workspace's timezone with their offset; --json keeps ISO-8601 (UTC).

    Example: sop audit --sop mombaby-refined --action promote --since 2026-11-01
    """
    if ctx.invoked_subcommand is not None:
        return
    ws = workspace(ctx)
    records = audit_trail.records(
        ws,
        sop_id=sop,
        actor=actor,
        action=action,
        since=in_zone(since, ws.settings.zone),
        until=in_zone(until, ws.settings.zone),
    )
    if as_json:
        echo_json([record.as_dict() for record in records])
        return
    for record in records:
        typer.echo(format_record(record, ws.settings.zone))


def format_record(r: AuditRecord, zone: tzinfo = UTC) -> str:
    """One audit record as one line of `sop audit` output, its time in `zone` with the offset."""
    stamp = local_time(r.at, zone, seconds=True)
    version = f"v{r.version}" if r.version else "-"
    return f"#{r.seq:<4} {stamp}  {r.actor:<10} {r.action:<10} {r.sop_id} {version}  {r.note}"


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the hash chain, that every git tag and alias move has an audit record, that tag
    objects and evidence notes are the ones recorded, and the head anchored in git.

    Example: sop audit verify
    """
    findings = audit_trail.verify(workspace(ctx))
    if findings:
        raise AuditError("\n".join(findings))
    typer.echo("audit trail intact: hash chain verified, git tags and aliases match")


@audit_app.command("repair")
def audit_repair(
    ctx: typer.Context,
    by: str = typer.Option(..., "--by", help="Who repairs (recorded in the audit trail)."),
    remove: bool = typer.Option(
        False, "--remove", help="Delete orphan tags instead of recording them as recovered."
    ),
) -> None:
    """After a crash between a git write and its audit record: record each tag no audit
    record mentions (flagged recovered) or remove it (--remove); re-anchor the chain head.

    Example: sop audit repair --by 李经理
    """
    ws = workspace(ctx)
    report = audit_trail.repair(ws, actor=by, remove=remove, now=now())
    for ref in report.recorded:
        typer.echo(f"recorded {ref} (recovered)")
    for ref in report.removed:
        typer.echo(f"removed {ref}")
    if report.anchored:
        typer.echo(f"anchored the audit head at seq {report.anchored[0]}")
    findings = audit_trail.verify(ws)
    if findings:
        raise AuditError("\n".join(findings))
    typer.echo("audit trail intact: hash chain verified, git tags and aliases match")


def register(app: typer.Typer) -> None:
    """Add `audit` to the root app."""
    app.add_typer(audit_app, name="audit")
