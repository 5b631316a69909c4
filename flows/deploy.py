"""Cron deployments of sopflow's flows: build them, register them, serve them.

Schedules fire only on a real Prefect server (`PREFECT_API_URL` set), never in ephemeral mode.
Serving runs each flow run in a child process started by Prefect's `Runner`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import prefect
from prefect import Flow
from prefect.deployments.runner import RunnerDeployment
from prefect.runner import Runner
from prefect.schedules import Cron

from services.prefect_api import prefect_api_errors
from sop_models.errors import DeploymentError, one_line

DEFAULT_TIMEZONE = "Asia/Shanghai"
_THREAD_START_TIMEOUT_S = 60
_THREAD_STOP_TIMEOUT_S = 30
_RUN_EXIT_GRACE_S = 10


class DeploymentSpec(NamedTuple):
    """One cron deployment: `name` runs `flow` at `cron` in `timezone` with `parameters`."""

    name: str
    flow: Flow[..., Any]
    cron: str
    timezone: str = DEFAULT_TIMEZONE
    parameters: Mapping[str, Any] | None = None
    description: str | None = None
    tags: Sequence[str] = ()


def build_deployments(
    specs: Iterable[DeploymentSpec | tuple[Any, ...]], **placement: Any
) -> list[RunnerDeployment]:
    """Turn specs (or plain tuples in spec order) into runner deployments with cron schedules.

    `placement` goes to each `to_deployment` as is (a work pool, its entrypoint type)."""
    deployments = []
    for raw in specs:
        spec = raw if isinstance(raw, DeploymentSpec) else DeploymentSpec(*raw)
        _check_timezone(spec)
        try:
            schedule = Cron(spec.cron, timezone=spec.timezone)
        except ValueError:
            raise DeploymentError(f"deployment {spec.name!r}: invalid cron {spec.cron!r}") from None
        deployments.append(
            spec.flow.to_deployment(
                name=spec.name,
                schedules=[schedule],
                parameters=dict(spec.parameters or {}),
                description=spec.description,
                tags=list(spec.tags),
                **placement,
            )
        )
    return deployments


def _check_timezone(spec: DeploymentSpec) -> None:
    try:
        ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeploymentError(
            f"deployment {spec.name!r}: unknown timezone {spec.timezone!r}"
        ) from None


def full_name(deployment: RunnerDeployment) -> str:
    """`flow-name/deployment-name`, the name `run_deployment()` and the CLI take."""
    return f"{deployment.flow_name}/{deployment.name}"


def register_deployments(deployments: Iterable[RunnerDeployment]) -> list[UUID]:
    """Create or update the deployments on the server without serving them; return their ids.

    Their schedules then create runs, but nothing executes them until they are served.
    """
    with prefect_api_errors(prefect.settings.get_current_settings().api.url or "(ephemeral)"):
        return [deployment.apply() for deployment in deployments]


def serve_deployments(deployments: Sequence[RunnerDeployment], *, limit: int | None = None) -> None:
    """Serve the deployments until interrupted (blocking; call from the main thread).

    Runs at most `limit` flow runs at once. On shutdown Prefect pauses their schedules.
    """
    if not deployments:
        raise DeploymentError("nothing to serve: no deployments given")
    prefect.serve(*deployments, limit=limit, print_starting_message=False)


@contextmanager
def serving_in_background(
    deployments: Sequence[RunnerDeployment], *, limit: int | None = None
) -> Iterator[Runner]:
    """Serve the deployments from a background thread while the block runs; stop after.

    For tests and embedded use; production serving is `serve_deployments()`. Schedules are
    left active on exit.
    """
    runner = Runner(limit=limit, pause_on_shutdown=False)
    started = threading.Event()
    failure: list[BaseException] = []
    loop_box: list[asyncio.AbstractEventLoop] = []

    async def main() -> None:
        loop_box.append(asyncio.get_running_loop())
        for deployment in deployments:
            await runner.aadd_deployment(deployment)
        started.set()
        await runner.start()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failure.append(exc)
        finally:
            started.set()

    thread = threading.Thread(target=run, name="sopflow-runner", daemon=True)
    thread.start()
    if not started.wait(_THREAD_START_TIMEOUT_S) or failure:
        cause = failure[0] if failure else None
        if loop_box and thread.is_alive():
            _stop_runner(runner, loop_box[0], thread)
        raise DeploymentError(f"runner did not start: {one_line(cause or 'timed out')}") from cause
    try:
        yield runner
    finally:
        _stop_runner(runner, loop_box[0], thread)


def _stop_runner(runner: Runner, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    async def stop() -> None:
        # start() may still be entering its task group; astop() needs `started`.
        while not runner.started and thread.is_alive():
            await asyncio.sleep(0.05)
        # astop() cancels every tracked run; give runs that already finished (or are about to)
        # time for their processes to exit so they are not marked cancelled.
        grace_end = loop.time() + _RUN_EXIT_GRACE_S
        while _tracked_runs(runner) and loop.time() < grace_end:
            await asyncio.sleep(0.1)
        if runner.started:
            await runner.astop()

    if thread.is_alive():
        asyncio.run_coroutine_threadsafe(stop(), loop).result(_THREAD_STOP_TIMEOUT_S)
    thread.join(_THREAD_STOP_TIMEOUT_S)
    if thread.is_alive():
        raise DeploymentError("runner thread did not stop")


def _tracked_runs(runner: Runner) -> set[UUID]:
    """Flow runs whose processes the runner still tracks (private API; empty if it moved)."""
    manager = getattr(runner, "_process_manager", None)
    return set(manager.flow_run_ids()) if manager is not None else set()
