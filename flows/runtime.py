"""Where Prefect runs: environment, a real `prefect server start`, or ephemeral mode.

Prefect builds its settings from the environment when `prefect` is first imported, so this
module never imports Prefect at import time. `prefect_environment()` sets the variables and
refreshes Prefect's process-global settings so that threads, flow runs and subprocesses all see
them. A `PrefectServer` is a real server in its own process group with its own SQLite database;
schedules only fire on such a server, never in ephemeral mode.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from flows import server_guard
from sop_models.errors import PrefectServerError

STARTUP_TIMEOUT_S = 90
STOP_TIMEOUT_S = 15
# Variables that must not leak from the caller's shell into our runs or servers.
_FOREIGN = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE")


def prefect_env(
    home: Path,
    api_url: str | None = None,
    *,
    logging_level: str = "WARNING",
    runner_poll_s: float = 10,
) -> dict[str, str]:
    """All Prefect variables for a run or server rooted at `home` (API at `api_url`, if any).

    Without `api_url` the client starts Prefect's ephemeral server (no schedules).
    """
    home = Path(home).resolve()
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(home / "storage"),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(STARTUP_TIMEOUT_S),
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_LOGGING_LEVEL": logging_level,
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
        "PREFECT_CLI_PROMPT": "false",
        "PREFECT_CLI_COLORS": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": str(runner_poll_s),
    }
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    else:
        env["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "true"
    return env


def refresh_prefect_settings() -> None:
    """Make an already imported Prefect re-read its settings from `os.environ`."""
    if "prefect.context" in sys.modules:
        import prefect.context
        from prefect.logging.configuration import setup_logging

        prefect.context.refresh_global_settings_context()
        setup_logging()  # log levels are otherwise fixed at import


@contextmanager
def prefect_environment(
    env: Mapping[str, str], *, drop: Iterable[str] = _FOREIGN
) -> Iterator[None]:
    """Set `env` in `os.environ` (removing `drop`), refresh Prefect, restore everything after.

    Prefect reads settings once per process; setting `os.environ` alone has no effect after
    `import prefect`. This refreshes the process-global settings context, which every thread
    and every subprocess (served runs) then sees.
    """
    names = {*env, *drop}
    saved = {name: os.environ.get(name) for name in names}
    for name in drop:
        os.environ.pop(name, None)
    os.environ.update(env)
    refresh_prefect_settings()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        refresh_prefect_settings()


_kept_for: Path | None = None  # the home whose ephemeral server `keep_server` left running


@contextmanager
def use_ephemeral(
    home: Path, *, logging_level: str = "WARNING", keep_server: bool = False
) -> Iterator[None]:
    """Run flows in Prefect's ephemeral mode with state under `home` (no server, no schedules).

    `keep_server`: leave the ephemeral server running afterwards for the next block on the
    same `home` (starting one takes seconds; a long-lived process such as the console reads
    through it on every page). A block on another home stops it first; so does process exit.
    """
    global _kept_for
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = prefect_env(home, logging_level=logging_level)
    # The in-process server's task-run recorder logs cancelled flushes as ERROR tracebacks when
    # it is stopped; they are shutdown noise, not failures of our runs.
    env["PREFECT_SERVER_LOGGING_LEVEL"] = "CRITICAL"
    with prefect_environment(env):
        try:
            _without_flow_run_heartbeats()
            if _kept_for is not None and _kept_for != home:
                _stop_ephemeral_servers()  # it serves another home's database
            _kept_for = None
            # Started here, under a watchdog, so that it dies with this process even when
            # this process is killed with SIGKILL (see flows.server_guard).
            server_guard.start_guarded_ephemeral_server()
            yield
        finally:
            drain_prefect_workers()
            if keep_server:
                _kept_for = home
            else:
                _stop_ephemeral_servers()


def kept_server_url(home: Path) -> str | None:
    """The API URL of the ephemeral server `keep_server` left running for `home`, or None.

    A client given this URL reads without entering `use_ephemeral` again: refreshing Prefect's
    settings on the way in and out costs more than a second per call under load.
    """
    if _kept_for != Path(home).resolve() or "prefect.server.api.server" not in sys.modules:
        return None
    from prefect.server.api.server import SubprocessASGIServer

    for server in SubprocessASGIServer._instances.values():
        process = server.server_process
        if process is not None and process.poll() is None:
            return str(server.api_url)
    return None


def _without_flow_run_heartbeats() -> None:
    """No flow-run heartbeats in ephemeral mode: nothing outlives the run to watch them.

    They only let a server that outlives a run notice that it crashed. Prefect's sync engine
    joins the heartbeat thread at the end of every run, and that thread sleeps in 1 s steps:
    each run waited up to a second for nothing (the demo runs one flow per simulated day).
    """
    import prefect.context
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY

    root = prefect.context.GLOBAL_SETTINGS_CONTEXT
    settings = root.settings.copy_with_update(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
    prefect.context.GLOBAL_SETTINGS_CONTEXT = root.model_copy(update={"settings": settings})


def _stop_ephemeral_servers() -> None:
    """Stop the ephemeral server Prefect started for this home, so none outlives it."""
    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()
    server_guard.release()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def drain_prefect_workers() -> None:
    """Flush queued run logs and events to the API, e.g. before its server stops."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for drain in (APILogWorker.drain_all, EventsWorker.drain_all):
        # A worker that never started has nothing to drain.
        with suppress(Exception):
            drain(timeout=10)


class PrefectServer:
    """A real `prefect server start` subprocess with its own home and SQLite database.

    Use as a context manager; `api_url` is valid inside. Stopping terminates the whole process
    group, then kills it if it has not exited within `STOP_TIMEOUT_S`.
    """

    def __init__(
        self,
        home: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        scheduler: bool = True,
        ui: bool = False,
        database_url: str | None = None,
    ) -> None:
        self.home = Path(home).resolve()
        # Its own database: SQLite under `home` unless a URL is given (postgresql+asyncpg://).
        self.database_url = database_url
        self.host = host
        self.port = port or free_port(host)
        self.startup_timeout_s = startup_timeout_s
        self.scheduler = scheduler
        self.ui = ui
        self.log_path = self.home / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None

    @property
    def api_url(self) -> str:
        """The API address clients use (`PREFECT_API_URL`)."""
        return f"http://{self.host}:{self.port}/api"

    def env(self, **overrides: str) -> dict[str, str]:
        """Prefect variables for clients of this server."""
        return {**prefect_env(self.home, self.api_url), **overrides}

    def start(self) -> Self:
        """Start the server and wait until `/api/health` answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not _port_free(self.host, self.port):
            # Another server there would answer our health check and fool us.
            self._fail(f"cannot start: port {self.port} is already in use")
        env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
        env.update(prefect_env(self.home))
        if self.database_url:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.database_url
        env["PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED"] = str(self.scheduler).lower()
        env["PREFECT_SERVER_UI_ENABLED"] = str(self.ui).lower()
        env["PREFECT_UI_API_URL"] = self.api_url
        command = [sys.executable, "-m", "prefect", "server", "start"]
        command += ["--host", self.host, "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() reaps every child
            )
        self.pid = self._process.pid
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._fail(f"exited with code {self._process.returncode}")
            if self.healthy():
                return
            time.sleep(0.2)
        self._fail(f"not healthy within {self.startup_timeout_s:g} s")

    def healthy(self) -> bool:
        """Whether the server answers its health check now."""
        return self.health_problem() is None

    def health_problem(self) -> str | None:
        """Why the server is not healthy now (its process exited, /health failed), or None."""
        if self._process is not None and self._process.poll() is not None:
            return f"its process exited with code {self._process.returncode}"
        try:
            answer = httpx.get(f"{self.api_url}/health", timeout=2)
        except httpx.HTTPError as exc:
            return f"/health: {type(exc).__name__}"
        return None if answer.status_code == 200 else f"/health answered {answer.status_code}"

    def watch(self, *, every_s: float = 2.0, failures: int = 5) -> str:
        """Block while the server is healthy; return why once `failures` checks in a row
        failed (one slow answer under load is not a dead server) or its process exited."""
        missed = 0
        while True:
            problem = self.health_problem()
            missed = 0 if problem is None else missed + 1
            if problem and (missed >= failures or problem.startswith("its process exited")):
                return f"{problem} ({missed} failed check(s) in a row)"
            time.sleep(every_s)

    def _fail(self, what: str) -> None:
        tail = self.log_tail()
        if tail:
            print(f"--- Prefect server log ({self.log_path}) ---\n{tail}", file=sys.stderr)
        raise PrefectServerError(
            f"Prefect server at {self.host}:{self.port} {what}; see {self.log_path}",
            log_path=self.log_path,
            log_tail=tail,
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the server log."""
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Terminate the server's process group; kill it if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._signal_group(process, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT_S)
        # Children left behind in the group (if any) go too.
        self._signal_group(process, signal.SIGKILL)

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
