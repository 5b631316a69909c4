"""Commands on saved versions: save, list, log, show, diff, candidate, promote, reject, rollback.

Times print in the workspace's timezone with their offset (`report.local_time`); --json keeps
ISO-8601 with the offset as stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from report.times import local_time
from services.cli_identity import cli_uow
from services.history import diff_versions, history, list_sops, show_version
from services.validation import read_document_text, validate_text
from sop_models.errors import DataFileError
from sop_models.i18n import tr
from sopflow.cli.common import echo_json, now, split_ref, workspace
from versions import services
from versions.diff import format_changes


def save(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="SOP YAML file to save."),
    author: str = typer.Option(..., "--author", help="Who is saving (the operator)."),
    message: str = typer.Option(..., "-m", "--message", help="Changelog line: what changed."),
    major: bool = typer.Option(False, "--major", help="Bump the major number (2.0, not 1.1)."),
    as_json: bool = typer.Option(False, "--json", help="Print the saved version as JSON."),
) -> None:
    """Save a document as the next numbered version (commit + tag + audit record).

    Example: sop save examples/mombaby-refined.yaml --author 小王 -m "新欢迎语"
    """
    ws = workspace(ctx)
    text = read_document_text(file)
    validate_text(text, str(file))
    info = services.save_version(
        cli_uow(ws),
        text=text,
        source=str(file),
        author=author,
        message=message,
        major=major,
        now=now(),
    )
    if as_json:
        echo_json(info.as_dict())
    else:
        typer.echo(f"saved {info.tag}  {info.message}")


def list_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List every SOP: latest version, production and candidate, who saved last and when.

    GROUPS counts the groups following production + candidate; LAST CHANGE is the newest
    audit record naming the SOP (a save, an alias move, a group change).

    Example: sop list --json
    """
    ws = workspace(ctx)
    sops = list_sops(ws)
    if as_json:
        echo_json([sop.as_dict() for sop in sops])
        return
    if not sops:
        typer.echo("no SOPs saved yet (sop save FILE --author NAME -m MESSAGE)")
        return
    width = max(len("SOP"), *(len(sop.latest.sop_id) for sop in sops))
    typer.echo(f"{'SOP':<{width}}  LATEST  PRODUCTION  CANDIDATE  GROUPS  LAST CHANGE")
    for sop in sops:
        info = sop.latest
        production = f"v{sop.production}" if sop.production else "-"
        candidate = f"v{sop.candidate}" if sop.candidate else "-"
        groups = f"{sop.groups.get('production', 0)}+{sop.groups.get('candidate', 0)}"
        last = sop.last_change
        when, who, what = (
            (last.at, last.actor, last.action) if last else (info.at, info.author, "save")
        )
        typer.echo(
            f"{info.sop_id:<{width}}  {info.version.label:<6}  {production:<10}  {candidate:<9}  "
            f"{groups:<6}  {local_time(when, ws.settings.zone)}  {who}  {what}"
        )


def log(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List every version of an SOP, newest first, with its aliases.

    Example: sop log mombaby-refined
    """
    ws = workspace(ctx)
    entries = history(ws, sop_id=sop)
    if as_json:
        echo_json([{**e.info.as_dict(), "aliases": e.aliases} for e in entries])
        return
    for entry in entries:
        info = entry.info
        mark = f" [{', '.join(entry.aliases)}]" if entry.aliases else ""
        stamp = local_time(info.at, ws.settings.zone)
        typer.echo(f"{info.version.label:<7}{stamp}  {info.author:<10} {info.message}{mark}")


def show(
    ctx: typer.Context,
    spec: str = typer.Argument(..., help="SOP[@VERSION|@ALIAS], e.g. welcome-flow@production."),
    as_json: bool = typer.Option(False, "--json", help="Print metadata and document as JSON."),
) -> None:
    """Print one version of an SOP (latest unless a version or alias is given).

    The document comes out exactly as saved (comments and wording kept); the version line goes
    to stderr, so `sop show X > x.yaml` gives back the saved file.

    Example: sop show mombaby-refined@production
    """
    sop_id, ref = split_ref(spec)
    shown = show_version(workspace(ctx), sop_id=sop_id, ref=ref)
    info = shown.info
    if as_json:
        document = shown.document().model_dump(mode="json")
        echo_json({**info.as_dict(), "evidence": shown.evidence, "document": document})
    else:
        typer.echo(f"# {info.tag}  {info.author}  {info.message}", err=True)
        typer.echo(shown.text, nl=False)


def diff(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    a: str = typer.Argument(..., help="From: version or alias."),
    b: str = typer.Argument(..., help="To: version or alias."),
    as_json: bool = typer.Option(False, "--json", help="Print the changes as JSON."),
) -> None:
    """Semantic diff between two versions: field paths added, removed, changed.

    Example: sop diff mombaby-refined 1.0 production
    """
    changes = diff_versions(workspace(ctx), sop_id=sop, a=a, b=b)
    if as_json:
        echo_json([change.as_dict() for change in changes])
    else:
        typer.echo(format_changes(changes))


def candidate(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    version: str = typer.Argument(..., help="Version to put under test, e.g. 2.0."),
    author: str = typer.Option("operator", "--author", help="Who sets the candidate."),
    reason: str = typer.Option("", "-m", "--reason", help="Why (kept in the audit record)."),
) -> None:
    """Mark a version as the candidate (tested against production in the check step).

    Example: sop candidate mombaby-refined 2.0 --author 小王 -m "测试新欢迎语"
    """
    ws = workspace(ctx)
    info = services.set_candidate(
        cli_uow(ws), sop_id=sop, version=version, actor=author, now=now(), reason=reason
    )
    typer.echo(
        tr("candidate of {sop} is now {version}").format(sop=sop, version=info.version.label)
    )


def promote(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    version: str = typer.Argument(..., help="Version to make production."),
    approver: str = typer.Option(..., "--approver", help="Ops lead approving (not the author)."),
    changelog: str = typer.Option(None, "--changelog", help="Changelog line with measured effect."),
    reason: str = typer.Option("", "-m", "--reason", help="Why (kept in the audit record)."),
) -> None:
    """Make a version production; needs an approver other than its author.

    Example: sop promote mombaby-refined 2.0 --approver 李经理
    """
    from services.console_policy import refuse_cli_approval

    ws = workspace(ctx)
    refuse_cli_approval(ws, command="promote")
    info = services.promote(
        cli_uow(ws),
        sop_id=sop,
        version=version,
        approver=approver,
        policy=ws.policy,
        now=now(),
        changelog=changelog,
        reason=reason,
    )
    typer.echo(
        tr("production of {sop} is now {version} (approved by {name})").format(
            sop=sop, version=info.version.label, name=approver
        )
    )


def reject(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    author: str = typer.Option("operator", "--author", help="Who rejects."),
    reason: str = typer.Option("", "-m", "--reason", help="Why the candidate is rejected."),
) -> None:
    """Clear the candidate alias; the version and its evidence stay in history.

    Example: sop reject mombaby-refined --author 李经理 -m "打开率下降"
    """
    ws = workspace(ctx)
    info = services.reject(cli_uow(ws), sop_id=sop, actor=author, reason=reason, now=now())
    typer.echo(
        tr("candidate {version} of {sop} rejected").format(version=info.version.label, sop=sop)
    )


def rollback(
    ctx: typer.Context,
    sop: str = typer.Argument(..., help="SOP id."),
    author: str = typer.Option(..., "--author", help="Who rolls back."),
    message: str = typer.Option(..., "-m", "--message", help="Why."),
) -> None:
    """Make the previous production version current again (history is kept).

    Example: sop rollback mombaby-refined --author 李经理 -m "投诉增加"
    """
    from services.console_policy import refuse_cli_approval

    ws = workspace(ctx)
    refuse_cli_approval(ws, command="rollback")
    info = services.rollback(cli_uow(ws), sop_id=sop, author=author, reason=message, now=now())
    typer.echo(
        tr("production of {sop} rolled back to {version}").format(
            sop=sop, version=info.version.label
        )
    )


def evidence(
    ctx: typer.Context,
    spec: str = typer.Argument(..., help="SOP@VERSION to attach evidence to."),
    file: Path = typer.Argument(..., help="JSON file with the evidence (e.g. a KPI result)."),
    author: str = typer.Option("operator", "--author", help="Who attaches it."),
) -> None:
    """Attach evidence (KPI results) to a version after the fact.

    Example: sop evidence mombaby-refined@2.0 check-result.json --author 数据组
    """
    ws = workspace(ctx)
    sop_id, ref = split_ref(spec)
    try:
        data = json.loads(read_document_text(file))
    except json.JSONDecodeError as err:
        raise DataFileError(f"{file}: not JSON: line {err.lineno}: {err.msg}") from None
    if not isinstance(data, dict):
        raise DataFileError(f"{file}: evidence must be a JSON object")
    info = services.attach_evidence(
        cli_uow(ws), sop_id=sop_id, version=ref, actor=author, evidence=data, now=now()
    )
    typer.echo(tr("evidence attached to {tag}").format(tag=info.tag))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command()(save)
    app.command("list")(list_command)
    for command in (log, show, diff, candidate, promote, reject, rollback, evidence):
        app.command()(command)
