"""Settings: one pydantic-settings object built from the workspace file and the environment.

Precedence: environment (`SOPFLOW_*`) over the workspace's `sopflow.toml` over defaults.
Secrets (WeCom corp secret, robot keys) may live in either, never in an SOP document.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sop_models.errors import WorkspaceError
from sop_models.kpis import CAPPED_METRICS

CONFIG_FILE = "sopflow.toml"


class Settings(BaseSettings):
    """Everything that wires real parts: database, approval policy, channels."""

    model_config = SettingsConfigDict(env_prefix="SOPFLOW_", extra="ignore")

    database_url: str | None = None
    store_url: str | None = None
    """The shared version store (bare git repo: file://, ssh:// or a path); None: store.git here."""
    events_url: str | None = None
    """The event store folder (a path or file:// URL); None: events/ in the workspace."""
    check_queue: str | None = None
    """The Prefect work queue KPI check deployments use (machines that can read the events)."""
    allow_self_approval: bool = False
    timezone: str = "Asia/Shanghai"
    lateness_minutes: int = Field(default=120, ge=0, le=24 * 60)
    """A run sends a due action at most this long after its time; older ones are missed."""
    events_earliest: date = date(2000, 1, 1)
    """Event times before this day (UTC) are refused at import."""
    events_ahead_days: int = Field(default=366, ge=1, le=3660)
    """Event times more than this many days after the import are refused."""
    wecom_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    wecom_corp_id: str | None = None
    wecom_corp_secret: SecretStr | None = None
    robot_keys: dict[str, SecretStr] = {}
    robot_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    wecom_mass_cap: Literal["month", "week", "day"] = "month"
    """The corp's mass-message rule per group: days in the month (default), 7 a week, 1 a day."""
    wecom_remind_after_hours: float = Field(default=2.0, gt=0)
    """Remind a sender who has not confirmed a mass send after this many hours."""
    wecom_cancel_after_hours: float = Field(default=24.0, gt=0)
    """Cancel a mass send its sender has not confirmed after this many hours."""
    # The ops console (sop web): who may approve, idle logout, UI language.
    approvals: Literal["cli", "console"] = "cli"
    web_idle_minutes: int = Field(default=30, ge=1)
    web_store_refresh_seconds: float = Field(default=2.0, ge=0)
    """With `store_url`: the console re-syncs its mirror at most this often (0: every request)."""
    language: Literal["zh", "en"] = "zh"
    """What people read (console, checklist, today, run and check text, report): sop_models.i18n."""
    wecom_agent_id: str | None = None  # the console's WeCom app, for WeCom login
    wecom_login_secret: SecretStr | None = None
    """The secret of that app when it is not the corp secret sending uses (own shared token)."""
    # `sop check` (engine.stats.decision.Practical): harm a guardrail must rule out, smallest
    # relative lift worth promoting, lift that asks for a human look.
    guardrail_margin: float = Field(0.10, ge=0)
    min_effect: float = Field(0.0, ge=0)
    suspicious_lift: float = Field(0.5, gt=0)
    uncapped_metrics: list[str] = Field(default_factory=list)
    """Registry metrics with a declared cap (客单价, ROI) that `sop check` tests uncapped."""
    workday_fallback: Literal["weekdays", "skip"] = "weekdays"
    """Workday slots in a year without holiday data: Monday-Friday, or none (services.calendar)."""
    console_url: str | None = None  # the console's public address, for tracked `/r/` links
    work_pool: str | None = None  # the Prefect work pool `sop doctor` checks by default
    alert_webhook_url: str | None = None  # late-run alerts are POSTed here (flows.alerts)
    alert_robot: str | None = None  # and/or posted by this robot (a robot_keys name) to ops
    lease_seconds: int = Field(default=120, ge=5)  # a dead run's `sending` rows free after this

    @field_validator("uncapped_metrics")
    @classmethod
    def _capped_names(cls, names: list[str]) -> list[str]:
        unknown = [n for n in names if n not in CAPPED_METRICS]
        if unknown:
            raise ValueError(
                f"{', '.join(unknown)}: not a metric with a declared cap "
                f"(those are: {', '.join(CAPPED_METRICS)})"
            )
        return names

    @property
    def zone(self) -> tzinfo:
        """The workspace timezone: what a time given without a zone means."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise WorkspaceError(f"timezone: unknown time zone {self.timezone!r}") from None


def load_settings(root: Path) -> Settings:
    """Settings for the workspace at `root` (file values, overridden by the environment)."""
    path = root / CONFIG_FILE
    file_values: dict[str, Any] = {}
    if path.exists():
        try:
            file_values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise WorkspaceError(f"{path}: {err}") from None
    try:
        from_env = Settings()
        env_values = from_env.model_dump(include=from_env.model_fields_set)
        return Settings.model_validate({**file_values, **env_values})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise WorkspaceError(f"{path}: {where}: {first['msg']}") from None


def declare_guardrail_margin(root: Path, margin: float) -> None:
    """Write the workspace's guardrail margin into its settings file (read by every check)."""
    path = root / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(f"{text.rstrip()}\nguardrail_margin = {margin!r}\n", encoding="utf-8")


DEFAULT_CONFIG = """\
# sopflow workspace settings. Environment variables SOPFLOW_<NAME> override these.
# database_url = "postgresql+psycopg://user@127.0.0.1:5432/sopflow"  # default: sopflow.db here
# store_url = "file:///mnt/shared/sop-store.git"  # shared version store; default: store.git here
# events_url = "/mnt/shared/sop-events"           # event store folder; default: events/ here
# check_queue = "events"                          # work queue of the KPI check deployments

# Four-eyes promotion: the approver must differ from the version's author.
allow_self_approval = false
timezone = "Asia/Shanghai"
# lateness_minutes = 120               # due actions older than this are missed, not sent

# sop check: a guardrail passes only when its CI rules out a relative harm above this margin.
# guardrail_margin = 0.10
# uncapped_metrics = ["average_order_value"]   # test these without capping big spenders

# The ops console (`sop web`):
# approvals = "console"                # only leads logged in to the console promote, approve,
#                                      # decline or roll back; the CLI refuses (default "cli")
# console_url = "https://sop.example.com"   # its public address, for tracked /r/ links
# web_idle_minutes = 30                # a session ends after this long without a request
# language = "en"                      # console and CLI in English (default Chinese)

# Workday slots in a year with no holiday schedule (official or `sop calendar import`ed):
# "weekdays" (Monday-Friday, with a warning) or "skip" (none, with a warning).
workday_fallback = "weekdays"

# WeCom credentials (kept out of SOP documents and the version store):
# wecom_corp_id = "ww..."
# wecom_corp_secret = "..."            # or SOPFLOW_WECOM_CORP_SECRET
# wecom_agent_id = "1000002"           # the console's WeCom app: QR-code login on desktops
# [robot_keys]
# ops-robot = "..."                    # group robot webhook key per robot name
# wecom_mass_cap = "month"             # the corp's mass-message rule: month | week | day
# wecom_remind_after_hours = 2         # remind senders of unconfirmed mass sends
# wecom_cancel_after_hours = 24        # then cancel them
"""


def find_root(explicit: Path | None) -> Path:
    """The workspace folder: --workspace, then SOPFLOW_WORKSPACE, then the current folder.
    (Here, not in services.workspace, so finding it loads no database or git wiring.)"""
    if explicit is not None:
        return Path(explicit).resolve()
    env = os.environ.get("SOPFLOW_WORKSPACE")
    return Path(env).resolve() if env else Path.cwd().resolve()
