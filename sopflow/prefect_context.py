"""Which Prefect a command talks to: the server in PREFECT_API_URL, or ephemeral mode.

Ephemeral mode (no server) is the embedded default: state lives in `<workspace>/.prefect`.
Schedules never fire there; `sop server` + `sop serve` are for that.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.runtime import kept_server_url, prefect_env, prefect_environment, use_ephemeral
from services.workspace import prefect_home
from sop_models.i18n import tr


@contextmanager
def prefect_for(root: Path, *, keep_server: bool = False) -> Iterator[str]:
    """Run the block against `PREFECT_API_URL` if set, else ephemeral; yields a description.
    `keep_server`: the ephemeral server stays up for the next block (see `use_ephemeral`)."""
    api_url = os.environ.get("PREFECT_API_URL")
    home = prefect_home(root)
    home.mkdir(parents=True, exist_ok=True)
    if api_url:
        env = prefect_env(Path(os.environ.get("PREFECT_HOME", str(home))), api_url)
        with prefect_environment(env):
            yield tr("Prefect server {url}").format(url=api_url)
    else:
        with use_ephemeral(home, keep_server=keep_server):
            yield tr("Prefect ephemeral mode (no schedules fire; see `sop server`)")


def prefect_api_url(root: Path) -> str:
    """The API for quick reads from a long-lived process (the console): `PREFECT_API_URL`, or
    the ephemeral server kept running for this workspace (started on first use, once)."""
    api_url = os.environ.get("PREFECT_API_URL")
    if api_url:
        return api_url
    home = prefect_home(root)
    kept = kept_server_url(home)
    if kept is None:
        with prefect_for(root, keep_server=True):
            pass
        kept = kept_server_url(home)
    if kept is None:  # the server stopped at once: report it like any unreachable API
        from sop_models.errors import PrefectApiError

        raise PrefectApiError(f"Prefect's ephemeral server for {home} did not stay up")
    return kept
