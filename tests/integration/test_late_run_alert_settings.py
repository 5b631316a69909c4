"""The late-run alert's settings are checked before anything is registered with Prefect
(the alert itself, against a real server: tests/e2e/test_health_prefect.py)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from flows.alerts import alert_actions
from services.settings import Settings
from sop_models.errors import ChannelNotConfigured


def test_an_alert_robot_without_a_key_is_refused_naming_the_robot_and_the_setting() -> None:
    settings = Settings(alert_robot="ops", robot_keys={"sales": SecretStr("k-sales")})
    with pytest.raises(ChannelNotConfigured) as refused:
        alert_actions(settings)
    assert "alert_robot: no key for robot 'ops'" in str(refused.value)
    assert "[robot_keys]" in str(refused.value) and "k-sales" not in str(refused.value)


def test_without_a_webhook_or_a_robot_the_automation_only_records_the_late_run() -> None:
    (action,) = alert_actions(Settings())
    assert type(action).__name__ == "DoNothing"
