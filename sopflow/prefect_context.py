"""Which Prefect a command talks to: the server in PREFECT_API_URL, or ephemeral mode.

Ephemeral mode (no server) is the embedded default: state lives in `<workspace>/.prefect`.
Schedules never fire there; `sop server` + `sop serve` are for that.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flows.runtime import prefect_env, prefect_environment, use_ephemeral
from services.workspace import prefect_home
from sop_models.i18n import tr


@contextmanager
def prefect_for(root: Path) -> Iterator[str]:
    """Run the block against `PREFECT_API_URL` if set, else ephemeral; yields a description."""
    api_url = os.environ.get("PREFECT_API_URL")
    home = prefect_home(root)
    home.mkdir(parents=True, exist_ok=True)
    if api_url:
        env = prefect_env(Path(os.environ.get("PREFECT_HOME", str(home))), api_url)
        with prefect_environment(env):
            yield tr("Prefect server {url}").format(url=api_url)
    else:
        with use_ephemeral(home):
            yield tr("Prefect ephemeral mode (no schedules fire; see `sop server`)")
