"""The late-run alert: a Prefect automation that names a deployment whose run nobody picks up.

When no healthy worker polls a pool, its runs pass their scheduled time and Prefect's
late-runs service marks them Late (event `prefect.flow-run.Late`). The automation is a
proactive EventTrigger per flow run of the given deployments: after the Late event, expect
the run to leave Late (Pending, Running, or any final state) within `within`; when it does
not, the server fires the actions: a Prefect Webhook block holding `alert_webhook_url` gets a
JSON payload naming the deployment, the run and its scheduled time (rendered by the server
from the triggering event's related resources), and with `alert_robot` that WeCom group robot
posts the same text to ops (its webhook URL, key included, is kept in a Prefect block: a
secret field of the server's database, never in a log). With neither, the automation still
fires and shows in Prefect's events and UI (DoNothing).

`sop serve --work-pool` calls `ensure_late_run_alert` after registering its deployments;
calling it again replaces the automation and the block (one of each, found by name).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from services.settings import Settings

AUTOMATION_NAME = "sopflow-late-runs"
WEBHOOK_BLOCK = "sopflow-late-run-webhook"
ROBOT_BLOCK = "sopflow-late-run-robot"
LATE = "prefect.flow-run.Late"
LEFT_LATE = frozenset(
    f"prefect.flow-run.{state}"
    for state in (
        "Pending",
        "Running",
        "Completed",
        "Failed",
        "Crashed",
        "Cancelling",
        "Cancelled",
        "Paused",
        "Suspended",
    )
)
# Rendered by the Prefect server (Jinja, objects resolved from the Late event's resources);
# `tojson` keeps the JSON valid whatever a name holds.
TEXT = (
    "('运行延迟 late run: deployment ' ~ deployment.name ~ ' run ' ~ flow_run.name"
    " ~ ' has no healthy worker (scheduled ' ~ flow_run.expected_start_time"
    " ~ '); check `sop doctor`')"
)
PAYLOAD = (
    '{"alert": "sopflow.late-run", "deployment": {{ deployment.name | tojson }}, '
    '"flow_run": {{ flow_run.name | tojson }}, '
    '"scheduled": {{ flow_run.expected_start_time | string | tojson }}, '
    '"text": {{ ' + TEXT + " | tojson }}}"
)
ROBOT_PAYLOAD = '{"msgtype": "text", "text": {"content": {{ ' + TEXT + " | tojson }}}}"


def late_run_trigger(deployment_ids: Iterable[UUID | str], within: timedelta) -> object:
    """The proactive trigger: a run of these deployments Late and still Late after `within`."""
    from prefect.events.schemas.automations import EventTrigger, Posture

    resources = sorted({f"prefect.deployment.{d}" for d in deployment_ids})
    return EventTrigger(
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "deployment", "prefect.resource.id": resources},
        after={LATE},
        expect=set(LEFT_LATE),
        for_each={"prefect.resource.id"},
        posture=Posture.Proactive,
        threshold=1,
        within=within,
    )


def _webhook_action(block_name: str, url: str, payload: str) -> object:
    from prefect.blocks.webhook import Webhook
    from prefect.events.actions import CallWebhook

    block = Webhook(
        method="POST",
        url=url,  # type: ignore[arg-type]
        headers={"Content-Type": "application/json; charset=utf-8"},  # type: ignore[arg-type]
    )
    block_id = block.save(block_name, overwrite=True)
    return CallWebhook(block_document_id=block_id, payload=payload)


def alert_actions(settings: Settings) -> list[object]:
    """The actions `settings` ask for: the ops webhook, the ops robot, or (neither) none."""
    from prefect.events.actions import DoNothing

    from sop_models.errors import ChannelNotConfigured

    actions: list[object] = []
    if settings.alert_webhook_url:
        actions.append(_webhook_action(WEBHOOK_BLOCK, settings.alert_webhook_url, PAYLOAD))
    if settings.alert_robot:
        key = settings.robot_keys.get(settings.alert_robot)
        if key is None or not key.get_secret_value().strip():
            raise ChannelNotConfigured(
                f"alert_robot: no key for robot {settings.alert_robot!r}: add it under "
                "[robot_keys] (or SOPFLOW_ROBOT_KEYS)"
            )
        base = settings.robot_base_url.rstrip("/") + "/"
        url = f"{base}webhook/send?key={key.get_secret_value().strip()}"
        actions.append(_webhook_action(ROBOT_BLOCK, url, ROBOT_PAYLOAD))
    return actions or [DoNothing()]


def ensure_late_run_alert(
    deployment_ids: Iterable[UUID | str],
    within: timedelta = timedelta(minutes=10),
    *,
    settings: Settings | None = None,
) -> UUID:
    """Create (or replace) the late-run automation for `deployment_ids`; returns its id.

    Its actions follow `alert_webhook_url` and `alert_robot` of `settings` (callers with a
    workspace pass `ws.settings`; default: the SOPFLOW_* environment alone).
    """
    from prefect.automations import Automation

    from services.settings import Settings

    ids: list[UUID | str] = list(deployment_ids)
    if not ids:
        raise ValueError("ensure_late_run_alert needs at least one deployment id")
    actions = alert_actions(settings or Settings())
    try:
        existing = Automation.read(name=AUTOMATION_NAME)
    except ValueError:
        existing = None  # none yet
    if existing is not None:  # keep watching what it watched (other pools, other brands)
        related = getattr(existing.trigger, "match_related", None) or {}
        if isinstance(related, list):
            related = related[0] if related else {}
        earlier = related.get("prefect.resource.id", []) if hasattr(related, "get") else []
        earlier = [earlier] if isinstance(earlier, str) else list(earlier)
        ids += [r.removeprefix("prefect.deployment.") for r in earlier]
        existing.delete()
    automation = Automation(
        name=AUTOMATION_NAME,
        description="A sopflow run stayed Late: no healthy worker picked it up.",
        trigger=late_run_trigger(ids, within),  # type: ignore[arg-type]
        actions=actions,  # type: ignore[arg-type]
    ).create()
    assert automation.id is not None
    return automation.id
