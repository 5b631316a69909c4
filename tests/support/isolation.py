"""Pytest plugin: the session owns its Prefect home and ignores the user's git configuration.

Listed first in `tests/conftest.py` `pytest_plugins`, so it runs before any test module imports
Prefect (which reads its settings once, at import). The suite therefore behaves the same on a
developer's machine as in CI, where HOME is an empty folder:

- PREFECT_HOME is a fresh temp folder (no profile, no ~/.prefect database); PREFECT_API_URL,
  PREFECT_API_KEY and PREFECT_PROFILE from the shell are dropped, so nothing talks to a server
  the developer happens to have configured. The `prefect_server` fixture overrides this for the
  tests that ask for a real server.
- git subprocesses read neither ~/.gitconfig nor /etc/gitconfig (no identity, no signing, no
  hooks path): a test that needs an identity must pass one, as CI would require.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_FOREIGN = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE")
_saved: dict[str, str | None] = {}
_home: Path | None = None


def _set(name: str, value: str | None) -> None:
    _saved.setdefault(name, os.environ.get(name))
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def pytest_configure(config: pytest.Config) -> None:
    global _home
    _home = Path(tempfile.mkdtemp(prefix="sopflow-tests-prefect-"))
    _set("PREFECT_HOME", str(_home))
    _set("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for name in _FOREIGN:
        _set(name, None)
    _set("GIT_CONFIG_GLOBAL", os.devnull)
    _set("GIT_CONFIG_NOSYSTEM", "1")


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, value in _saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved.clear()
    if _home is not None:
        shutil.rmtree(_home, ignore_errors=True)
