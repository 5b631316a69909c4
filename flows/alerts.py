"""The late-run alert: a Prefect automation that names a deployment whose run nobody picks up.

When no healthy worker polls a pool, its runs pass their scheduled time and Prefect's
late-runs service marks them Late (event `prefect.flow-run.Late`). The automation is a
proactive EventTrigger per flow run of the given deployments: after the Late event, expect
the run to leave Late (Pending, Running, or any final state) within `within`; when it does
not, the server fires the action. The action calls a Prefect Webhook block holding
`alert_webhook_url`, with a JSON payload naming the deployment, the run and its scheduled
time (rendered by the server from the triggering event's related resources). Without a
webhook URL the automation still fires and shows in Prefect's events and UI (DoNothing).

`sop serve --work-pool` calls `ensure_late_run_alert` after registering its deployments;
calling it again replaces the automation and the block (one of each, found by name).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

AUTOMATION_NAME = "sopflow-late-runs"
WEBHOOK_BLOCK = "sopflow-late-run-webhook"
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
# Rendered by the Prefect server (Jinja, objects resolved from the Late event's resources).
PAYLOAD = (
    '{"alert": "sopflow.late-run", '
    '"deployment": "{{ deployment.name }}", '
    '"flow_run": "{{ flow_run.name }}", '
    '"scheduled": "{{ flow_run.expected_start_time }}", '
    '"text": "运行延迟 late run: deployment {{ deployment.name }} run {{ flow_run.name }} '
    "has no healthy worker (scheduled {{ flow_run.expected_start_time }}); "
    'check `sop doctor`"}'
)


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


def _webhook_action(url: str) -> object:
    from prefect.blocks.webhook import Webhook
    from prefect.events.actions import CallWebhook

    block = Webhook(
        method="POST",
        url=url,  # type: ignore[arg-type]
        headers={"Content-Type": "application/json; charset=utf-8"},  # type: ignore[arg-type]
    )
    block_id = block.save(WEBHOOK_BLOCK, overwrite=True)
    return CallWebhook(block_document_id=block_id, payload=PAYLOAD)


def ensure_late_run_alert(
    deployment_ids: Iterable[UUID | str],
    within: timedelta = timedelta(minutes=10),
    *,
    webhook_url: str | None = None,
) -> UUID:
    """Create (or replace) the late-run automation for `deployment_ids`; returns its id.

    `webhook_url` defaults to the `alert_webhook_url` setting from the environment
    (SOPFLOW_ALERT_WEBHOOK_URL); callers with a workspace pass `ws.settings.alert_webhook_url`.
    """
    from prefect.automations import Automation
    from prefect.events.actions import DoNothing

    from services.settings import Settings

    ids: list[UUID | str] = list(deployment_ids)
    if not ids:
        raise ValueError("ensure_late_run_alert needs at least one deployment id")
    url = webhook_url if webhook_url is not None else Settings().alert_webhook_url
    action = _webhook_action(url) if url else DoNothing()
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
        actions=[action],  # type: ignore[list-item]
    ).create()
    assert automation.id is not None
    return automation.id
