"""`sop overlay ...`: lay campaign SOPs over a base SOP's groups for a window."""

from __future__ import annotations

from datetime import date

import typer

from sopflow.cli.common import echo_json, now, workspace
from sopflow.cli.params import date_option

BY_HELP = "Who makes the change (audit trail, with your OS user; default: your login name)."

overlay_app = typer.Typer(
    help="Overlays: campaign SOPs laid over a base SOP's groups for a window.\n\n"
    "Example: sop overlay attach weekly-jielong --base mombaby-refined --from 2026-09-01",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@overlay_app.command("attach")
def attach_command(
    ctx: typer.Context,
    overlay: str = typer.Argument(..., help="The overlay SOP, e.g. weekly-jielong."),
    base: str = typer.Option(..., "--base", help="The base SOP whose groups get it."),
    ref: str = typer.Option("production", "--ref", help="Alias or version of the overlay."),
    start: date = date_option(None, "--from", help="First day (default: always)."),
    end: date = date_option(None, "--until", help="Last day, inclusive (default: open)."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Lay an overlay SOP over a base SOP's groups (replaces an earlier attachment of it).

    Example: sop overlay attach qixi --base mombaby-refined --from 2026-08-16 --until 2026-08-19
    """
    from services.overlays import Attachment, attach

    attach(workspace(ctx), Attachment(overlay, base, ref, start, end), by=by, now=now())
    window = f"{start or '…'} to {end or '…'}"
    typer.echo(f"attached {overlay}@{ref} over {base}, {window}")


@overlay_app.command("detach")
def detach_command(
    ctx: typer.Context,
    overlay: str = typer.Argument(..., help="The overlay SOP."),
    base: str = typer.Option(..., "--base", help="The base SOP it is laid over."),
    by: str = typer.Option(None, "--by", help=BY_HELP),
) -> None:
    """Take an overlay off a base SOP's groups.

    Example: sop overlay detach weekly-jielong --base mombaby-refined
    """
    from services.overlays import detach

    detach(workspace(ctx), overlay=overlay, base=base, by=by, now=now())
    typer.echo(f"detached {overlay} from {base}")


@overlay_app.command("list")
def list_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the attachments as JSON."),
) -> None:
    """List every overlay attachment: overlay, base, alias or version, window.

    Example: sop overlay list --json
    """
    from services.overlays import attachments

    rows = [
        {
            "overlay": a.overlay,
            "base": a.base,
            "ref": a.ref,
            "from": a.start.isoformat() if a.start else None,
            "until": a.end.isoformat() if a.end else None,
        }
        for a in attachments(workspace(ctx))
    ]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['overlay']}@{row['ref']}  over {row['base']}  "
            f"{row['from'] or '…'} to {row['until'] or '…'}"
        )


def register(app: typer.Typer) -> None:
    """Add `overlay` to the root app (once, however often called)."""
    if overlay_app not in {info.typer_instance for info in app.registered_groups}:
        app.add_typer(overlay_app, name="overlay")
