"""Who is at the keyboard: CLI audit records name the OS user beside the typed name.

A name typed after `--author`/`--approver` is a claim; the account the `sop` process runs as
is a fact of the machine. `cli_uow` is the workspace's unit of work whose audit records carry
the actor as `李经理 (os:alice)`. Only the audit row changes: the four-eyes check and the
version's author still compare the typed names, and the suffix is hashed into the chain like
any other actor text, so `sop audit verify` stays clean.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from sqlmodel import Session

from services.workspace import Workspace
from versions.audit_verify import ChainRecord
from versions.store import AuditTrail, VersionStore
from versions.unit_of_work import UnitOfWork


def os_user() -> str:
    """The login name of this process's user (the uid where the system knows no name)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid{os.getuid()}"


def signed(name: str, user: str) -> str:
    """The audit actor for a name typed at the CLI by OS user `user`: `李经理 (os:alice)`."""
    return f"{name} (os:{user})"


class SignedAuditTrail:
    """An audit trail whose new records name the OS user after the actor."""

    def __init__(self, trail: AuditTrail, user: str) -> None:
        self._trail = trail
        self._user = user

    def append(
        self,
        *,
        actor: str,
        action: str,
        sop_id: str,
        version: str | None,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        note: str,
        now: datetime,
    ) -> ChainRecord:
        """Append as the wrapped trail does, with the actor signed."""
        return self._trail.append(
            actor=signed(actor, self._user), action=action, sop_id=sop_id, version=version,
            before=before, after=after, note=note, now=now,
        )  # fmt: skip

    def rows(
        self, *, sop_id: str | None = None, action: str | None = None
    ) -> Sequence[ChainRecord]:
        """The wrapped trail's records."""
        return self._trail.rows(sop_id=sop_id, action=action)

    def verify(
        self, *, git_refs: Mapping[str, str] | None = None, git: Any | None = None
    ) -> list[str]:
        """The wrapped trail's findings."""
        return self._trail.verify(git_refs=git_refs, git=git)


class CliUnitOfWork(UnitOfWork):
    """The workspace's unit of work, its audit records signed with the OS user."""

    def __init__(
        self, store: VersionStore, session_factory: Callable[[], Session], *, user: str
    ) -> None:
        super().__init__(store, session_factory)
        self.user = user

    def _begin(self, stack: ExitStack) -> None:
        super()._begin(stack)
        self.audit = SignedAuditTrail(self.audit, self.user)


def cli_uow(ws: Workspace, *, user: str | None = None) -> CliUnitOfWork:
    """A unit of work for a CLI command run by `user` (this process's OS user by default)."""
    return CliUnitOfWork(ws.store, ws.session, user=user or os_user())
