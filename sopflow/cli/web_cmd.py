"""`sop web`: serve the ops console for one workspace."""

from __future__ import annotations

import typer

from sopflow.cli.common import workspace


def web(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Start the ops console (web pages for leads and operators).

    Example: sop web --port 8000   (then open http://127.0.0.1:8000; add users with `sop users add`)
    """
    import uvicorn

    from sopflow.web.app import create_app

    ws = workspace(ctx)
    typer.echo(f"sop web: http://{host}:{port}  (workspace {ws.root}; Ctrl-C stops it)")
    uvicorn.run(create_app(ws), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add this module's command to the root app."""
    app.command()(web)
