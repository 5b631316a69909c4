"""Exception tree shared by every layer of sopflow: every error class is defined here.

    SopflowError                      root: every user-facing failure
    ├── DocumentInvalid               an SOP document failed validation (all problems at once)
    ├── DataFileError                 an input data file (events, units, CSV) is unreadable or bad
    │   ├── BadRowsError              a data file has bad rows (every problem, one line each)
    │   └── EventRowsError            an event file has bad rows; nothing of it was imported
    ├── CalendarDataMissing           a date is outside the holiday calendar's data
    ├── WorkspaceError                no workspace, or a broken workspace configuration
    ├── StoreError                    version store failures
    │   ├── VersionNotFound           no such SOP, version number or alias
    │   ├── NothingToSave             the document equals the latest saved version
    │   ├── AliasError                an alias move that is not allowed
    │   └── StoreConflictError        someone else wrote to the shared store first; run again
    ├── ApprovalError                 four-eyes rule or approval state violated
    ├── AuditError                    the audit trail cannot be written or read
    ├── AccountError                  a console account operation or login was refused
    ├── GroupRegistryError            a group registry operation was refused
    │   ├── DuplicateGroupError       the group id is already registered
    │   └── UnknownGroupError         no group with that id
    ├── TemplateRenderError           a template could not be rendered with the given variables
    ├── PlanError                     the planner cannot plan what was asked (window, kinds)
    ├── PlaybookError                 a playbook run asked for something that does not exist
    │   └── PartialRunError           some SOPs or groups of a run failed; the others went out
    ├── ChannelError                  a channel could not deliver
    │   ├── ChannelNotConfigured      a channel lacks settings (credentials, robot keys)
    │   ├── ContentError              an action lacks what its msgtype needs; nothing was sent
    │   ├── ChannelRateLimited        the channel refused for rate limits (retry later)
    │   │   └── WeComRateLimited      45009 / 45033 / -1 still answered after every backoff
    │   ├── DeliveryOutcomeUnknown    the request left, the answer never came
    │   ├── WeComApiError             WeCom answered with a non-zero errcode
    │   │   ├── WeComTokenRejected    40014 / 42001: the access_token is invalid or expired
    │   │   └── WeComSetupError       40001 / 40013 / 48002 / 60020: a setting must be fixed first
    │   ├── WeComUnreachable          no connection: the request never left (safe to retry)
    │   └── WeComRequestInvalid       we refuse to send a request that breaks a documented limit
    ├── LedgerError                   the delivery ledger refused an operation
    │   └── UnknownDeliveryError      no delivery with that key
    ├── CheckError                    the KPI check cannot run (no candidate, no data)
    ├── SimulationError               the simulator refused a call (day order, unknown group)
    │   ├── SimulationParamsInvalid   a simulation parameter is unknown or out of range
    │   └── ActionNotSimulable        a planned action cannot be simulated on the given day
    ├── ReportWriteError              the report file could not be written
    └── PrefectError                  Prefect could not serve, reach or run what we asked
        ├── PrefectServerError        our Prefect server did not start or become healthy
        ├── PrefectApiError           the Prefect API is unreachable or refused the request
        ├── DeploymentError           a deployment cannot be built, registered or served
        └── FlowRunError              a flow run failed, or could not be resumed

Every class carries the context a user needs to act; `str(err)` is one line per problem.
Text from elsewhere (an API's answer, a library's exception) goes through `one_line`, and
WeCom errors pass theirs through `redact` so that no credential reaches a message or a log.
Modules that used to define these classes import them from here and still export them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

MASK = "***"
_SECRET_PARAM = re.compile(r"(?i)\b(access_token|corpsecret|key)=([^&\s\"'<>#]+)")
ROWS_SHOWN = 20  # bad rows an EventRowsError message lists


def one_line(text: object) -> str:
    """`text` as one line: its lines, stripped, joined by single spaces."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with credential query parameters and the given secret values masked."""
    out = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            out = out.replace(secret, MASK)
    return out


class SopflowError(Exception):
    """Root of every error sopflow reports to a user as one line."""


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        field = self.path or "(document)"
        return f"{where}{field}: {one_line(self.message)}"


@dataclass(frozen=True)
class RowProblem:
    """One bad row: where it is (`line 3` or `row 2`) and every reason it was refused."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {one_line(self.reason)}"


class DocumentInvalid(SopflowError):
    """An SOP document failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataFileError(SopflowError):
    """An input data file is unreadable, misses a column, or has bad rows."""


class BadRowsError(DataFileError):
    """A data file has bad rows; `problems` lists every one with its line number."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class EventRowsError(DataFileError):
    """An event file has bad rows; nothing of it was imported. `problems` holds the first ones."""

    def __init__(self, file: str, problems: Sequence[RowProblem], total: int) -> None:
        self.file = file
        self.problems = list(problems)
        self.total = total
        shown = [f"  {p}" for p in self.problems[:ROWS_SHOWN]]
        more = total - len(shown)
        tail = [f"  ... and {more} more"] if more > 0 else []
        noun = "row" if total == 1 else "rows"
        head = f"{file}: {total} bad {noun}, nothing imported"
        super().__init__("\n".join([head, *shown, *tail]))


class CalendarDataMissing(SopflowError):
    """A date lies outside the years the holiday calendar library knows."""


class WorkspaceError(SopflowError):
    """The workspace is missing or misconfigured."""


class StoreError(SopflowError):
    """The version store refused or failed an operation."""


class StoreConflictError(StoreError):
    """Someone else wrote to the shared version store first; nothing was written, run again."""

    def __init__(self, sop_ids: Sequence[str]) -> None:
        self.sop_ids = list(sop_ids)
        what = f"SOP {', '.join(self.sop_ids)}" if self.sop_ids else "to it"
        super().__init__(f"store: someone else saved {what} first; nothing was written, run again")


class VersionNotFound(StoreError):
    """No such SOP, version number or alias."""


class NothingToSave(StoreError):
    """The document is identical to the latest saved version."""


class AliasError(StoreError):
    """An alias move that the workflow does not allow."""


class ApprovalError(SopflowError):
    """Approval is missing, self-given where not allowed, or already decided."""


class AuditError(SopflowError):
    """The audit trail could not be written or read."""


class AccountError(SopflowError):
    """A console account operation or login was refused (unknown, disabled, locked out)."""


class GroupRegistryError(SopflowError):
    """The group registry refused an operation."""


class DuplicateGroupError(GroupRegistryError):
    """A group with this id is already registered."""


class UnknownGroupError(GroupRegistryError):
    """No group is registered under these ids (the registered ids close to them are named)."""

    def __init__(self, group_ids: Sequence[str], known: Sequence[str] = ()) -> None:
        self.group_ids = list(group_ids)
        close = [m for g in self.group_ids for m in difflib.get_close_matches(g, known, n=3)]
        hint = f" (did you mean: {', '.join(dict.fromkeys(close))})" if close else ""
        super().__init__(f"unknown group id(s): {', '.join(self.group_ids)}{hint}")


class TemplateRenderError(SopflowError):
    """A template failed to render (unknown template, missing variable, unsafe access)."""


class PlanError(SopflowError):
    """The planner was asked for something it cannot plan (bad window, unknown kind)."""


class PlaybookError(SopflowError):
    """A playbook run was asked for something that does not exist."""


class PartialRunError(PlaybookError):
    """Some SOPs or groups of a run failed to plan or send; the others went out."""

    def __init__(self, message: str, summary: dict[str, object] | None = None) -> None:
        super().__init__(one_line(message))
        self.summary = summary or {}

    def __reduce__(self) -> tuple[type[PartialRunError], tuple[str, dict[str, object]]]:
        return (type(self), (str(self), self.summary))


class ChannelError(SopflowError):
    """A channel could not deliver a message."""


class ChannelNotConfigured(ChannelError):
    """A channel cannot be built: a setting (credential, robot key) is missing."""


class ContentError(ChannelError):
    """An action lacks what its msgtype needs; channels report it as a failed result."""


class ChannelRateLimited(ChannelError):
    """The channel refused because of a rate or frequency limit."""


class WeComRateLimited(ChannelRateLimited):
    """WeCom kept answering 45009/45033/-1 after every backoff."""

    def __init__(
        self,
        api: str,
        errcode: int,
        errmsg: str,
        *,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.api = redact(one_line(api))
        self.errcode = errcode
        self.errmsg = redact(one_line(errmsg))
        self.attempts = attempts
        self.retry_after = retry_after  # seconds WeCom may keep refusing (45009 blocks)
        later = f"; blocked, retry in {retry_after:.0f}s or later" if retry_after else ""
        super().__init__(
            f"WeCom {self.api}: errcode {errcode} ({self.errmsg}) after {attempts} attempt(s)"
            + later
        )


class DeliveryOutcomeUnknown(ChannelError):
    """The request was sent but no answer arrived; it must not be blindly resent."""


class WeComApiError(ChannelError):
    """WeCom answered a call with a non-zero errcode."""

    def __init__(self, api: str, errcode: int, errmsg: str, *, attempts: int = 1) -> None:
        self.api = redact(one_line(api))
        self.errcode = errcode
        self.errmsg = redact(one_line(errmsg))
        self.attempts = attempts
        super().__init__(f"WeCom {self.api}: errcode {errcode} ({self.errmsg})")


class WeComTokenRejected(WeComApiError):
    """WeCom rejected the access_token (40014 invalid, 42001 expired)."""


SETUP_FIXES = {
    40001: "wecom_corp_secret is wrong: set the secret of the self-built app listed under "
    "客户联系 (customer contact)",
    40013: "wecom_corp_id is wrong: set the corp id (企业ID, ww...) from 我的企业",
    48002: "the app behind wecom_corp_secret may not call this API: use the secret of a "
    "self-built app listed under 客户联系 (system-app secrets are refused since 2023-12-01)",
    60020: "this server's IP is not among the app's trusted IPs (企业可信IP): add it in the "
    "WeCom admin console, app settings",
}


class WeComSetupError(WeComApiError):
    """A setup error no retry can fix (secret, corp id, permission, trusted IP): stop the run."""

    def __init__(self, api: str, errcode: int, errmsg: str, *, attempts: int = 1) -> None:
        super().__init__(api, errcode, errmsg, attempts=attempts)
        self.fix = SETUP_FIXES.get(errcode, "check the WeCom settings")
        self.args = (f"WeCom {self.api}: errcode {errcode} ({self.errmsg}): {self.fix}",)


class WeComUnreachable(ChannelError):
    """No connection to WeCom could be made; the request never left."""

    def __init__(self, api: str, reason: str, *, attempts: int = 1) -> None:
        self.api = redact(one_line(api))
        self.reason = redact(one_line(reason))
        self.attempts = attempts
        super().__init__(
            f"WeCom {self.api}: not reachable ({self.reason}) after {attempts} attempt(s)"
        )


class WeComRequestInvalid(ChannelError):
    """A request that breaks a documented WeCom limit; it was not sent."""


class LedgerError(SopflowError):
    """The delivery ledger refused an operation."""


class UnknownDeliveryError(LedgerError):
    """Keys that are not in the ledger (the known keys close to them are named)."""

    def __init__(self, keys: Sequence[str], known: Sequence[str] = ()) -> None:
        self.keys = list(keys)
        close = [m for k in self.keys for m in difflib.get_close_matches(k, known, n=3)]
        hint = f" (did you mean: {', '.join(dict.fromkeys(close))})" if close else ""
        super().__init__(f"no delivery with key(s): {', '.join(self.keys)}{hint}")


class CheckError(SopflowError):
    """The KPI check cannot run as asked."""


class SimulationError(SopflowError):
    """The simulator refused a call; the message says what and where."""


class SimulationParamsInvalid(SimulationError):
    """A simulation parameter is unknown or out of range."""


class ActionNotSimulable(SimulationError):
    """A planned action lies outside the simulated day or names an unknown group."""


class ReportWriteError(SopflowError):
    """The report file could not be written."""


class PrefectError(SopflowError):
    """Prefect could not serve, reach or run what sopflow asked of it."""


class PrefectServerError(PrefectError):
    """The Prefect server could not be started or did not become healthy."""

    def __init__(self, message: str, *, log_path: Path, log_tail: str) -> None:
        super().__init__(one_line(message))
        self.log_path = log_path
        self.log_tail = log_tail


class PrefectApiError(PrefectError):
    """The Prefect API could not be reached or refused a request (network, credentials)."""

    def __init__(self, message: str, *, api_url: str) -> None:
        super().__init__(one_line(message))
        self.api_url = api_url


class DeploymentError(PrefectError):
    """A deployment cannot be built, registered or served as configured."""


class FlowRunError(PrefectError):
    """A flow run failed, or Prefect refused to resume it."""

    def __init__(self, message: str, *, flow_run_id: str | None = None) -> None:
        super().__init__(one_line(message))
        self.flow_run_id = flow_run_id
