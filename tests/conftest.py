"""Shared fixtures: real workspaces, a throwaway PostgreSQL cluster, a real Prefect server."""

from __future__ import annotations

import importlib.util

pytest_plugins = [
    name
    for name in (
        "tests.support.pg_cluster",
        "tests.support.prefect_server",
        "tests.support.workspaces",
    )
    if importlib.util.find_spec(name) is not None
]
