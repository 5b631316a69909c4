"""Exception tree shared by every layer of sopflow.

    SopflowError                    root: every user-facing failure
    ├── DocumentInvalid             an SOP document failed validation (all problems at once)
    ├── DataFileError               an input data file (events, units, CSV) is unreadable or bad
    ├── CalendarDataMissing         a date is outside the holiday calendar's data
    ├── WorkspaceError              no workspace, or a broken workspace configuration
    ├── StoreError                  version store failures
    │   ├── VersionNotFound         no such SOP, version number or alias
    │   ├── NothingToSave           the document equals the latest saved version
    │   └── AliasError              an alias move that is not allowed
    ├── ApprovalError               four-eyes rule or approval state violated
    ├── AuditError                  the audit trail cannot be written or read
    ├── ChannelError                a channel could not deliver
    │   ├── ChannelRateLimited      the channel refused for rate limits (retry later)
    │   └── DeliveryOutcomeUnknown  the request left, the answer never came
    └── CheckError                  the KPI check cannot run (no candidate, no data)

Every class carries the context a user needs to act; `str(err)` is one line.
"""

from __future__ import annotations

from dataclasses import dataclass


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
        return f"{where}{field}: {self.message}"


class DocumentInvalid(SopflowError):
    """An SOP document failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataFileError(SopflowError):
    """An input data file is unreadable, misses a column, or has bad rows."""


class CalendarDataMissing(SopflowError):
    """A date lies outside the years the holiday calendar library knows."""


class WorkspaceError(SopflowError):
    """The workspace is missing or misconfigured."""


class StoreError(SopflowError):
    """The version store refused or failed an operation."""


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


class ChannelError(SopflowError):
    """A channel could not deliver a message."""


class ChannelRateLimited(ChannelError):
    """The channel refused because of a rate or frequency limit."""


class DeliveryOutcomeUnknown(ChannelError):
    """The request was sent but no answer arrived; it must not be blindly resent."""


class CheckError(SopflowError):
    """The KPI check cannot run as asked."""
