"""The console in a real browser: the app served by uvicorn in a thread, Playwright driving
Debian's chromium (no browser download), screenshots kept under test-artifacts/."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from services.workspace import Workspace
from sopflow.web.app import create_app
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def artifacts_dir(name: str) -> Path:
    """Where a test keeps its screenshots ($SOPFLOW_TEST_ARTIFACTS or test-artifacts/)."""
    base = Path(os.environ.get("SOPFLOW_TEST_ARTIFACTS", ROOT / "test-artifacts"))
    folder = base / "console" / re.sub(r"[^\w.-]", "_", name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium_path() -> str:
    """Debian's chromium; missing is a failure, not a skip."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (./dev test does)")
    return path


@contextmanager
def serving(ws: Workspace) -> Iterator[str]:
    """The console for `ws` on a free local port; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(ws), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=30, what="the console to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def browser_page(width: int = 1280, height: int = 900) -> Iterator[object]:
    """A fresh Chromium page with the given viewport."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as play:
        browser = play.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            yield context.new_page()
        finally:
            browser.close()


def log_in_page(page: object, base: str, name: str, password: str) -> None:
    """Log in through the form, with the keyboard, as a person would."""
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.get_by_label("账号").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("密码").fill(password)  # type: ignore[attr-defined]
    page.get_by_label("密码").press("Enter")  # type: ignore[attr-defined]
    page.wait_for_load_state()  # type: ignore[attr-defined]
