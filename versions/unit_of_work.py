"""A unit of work over the version store and the audit trail: all of it happens, or none.

Inside `with uow:` the store is locked across processes; every ref the work will touch is
tracked first. Leaving the block without `commit()` (or on any exception) rolls the audit
trail's transaction back and puts the tracked refs back where they were, so a failed save
leaves no tag, no branch move and no audit record behind.

`AbstractUnitOfWork` is what the version services need; `UnitOfWork` is the real one (git
refs + a database session), and tests/support/memory_versions.py holds an in-memory twin.

One unit per user action: a service that does several things (approve, attach the evidence,
promote) does them all inside one `with uow:`. Units do not nest; entering an open unit again
is a programming error, refused at once rather than deadlocking on the store lock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType
from typing import Self

from sqlmodel import Session

from versions.audit import SqlAuditTrail
from versions.store import AuditTrail, VersionStore


class AbstractUnitOfWork(ABC):
    """A version store and an audit trail, committed together or rolled back together.

    The lock, the ref tracking and the roll-back-unless-committed rule live here once;
    an implementation says how its audit trail begins, commits and rolls back.
    """

    store: VersionStore
    audit: AuditTrail

    def __init__(self, store: VersionStore) -> None:
        self.store = store
        self._stack: ExitStack | None = None
        self._snapshot: dict[str, str | None] = {}
        self._committed = False

    def __enter__(self) -> Self:
        """Lock the store and begin the audit trail's transaction."""
        if self._stack is not None:
            raise RuntimeError("this unit of work is already open; units do not nest")
        stack = ExitStack()
        try:
            stack.enter_context(self.store.lock())
            self._begin(stack)
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        self._snapshot, self._committed = {}, False
        return self

    def track(self, *refs: str) -> None:
        """Remember the current targets of refs about to change (first call wins)."""
        self._require_open()
        fresh = [ref for ref in refs if ref not in self._snapshot]
        self._snapshot.update(self.store.snapshot_refs(fresh))

    def commit(self) -> None:
        """Publish the store's refs (a shared store pushes them), then make the audit durable."""
        self._require_open()
        self.store.publish()  # a refused push raises here: __exit__ then rolls everything back
        self._commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Unless committed: roll the audit trail back and restore the tracked refs."""
        assert self._stack is not None
        try:
            if not self._committed:
                self._rollback()
                self.store.restore_refs(self._snapshot)
        finally:
            self._stack.close()
            self._stack = None

    def _require_open(self) -> None:
        if self._stack is None:
            raise RuntimeError("use the unit of work inside `with uow:`")

    @abstractmethod
    def _begin(self, stack: ExitStack) -> None:
        """Open the audit trail's transaction (close it through `stack`)."""

    @abstractmethod
    def _commit(self) -> None:
        """Make the audit trail's records durable."""

    @abstractmethod
    def _rollback(self) -> None:
        """Drop the audit trail's uncommitted records."""


class UnitOfWork(AbstractUnitOfWork):
    """Store lock + database session, committed together or rolled back together."""

    def __init__(self, store: VersionStore, session_factory: Callable[[], Session]) -> None:
        super().__init__(store)
        self._session_factory = session_factory
        self.session: Session

    def _begin(self, stack: ExitStack) -> None:
        self.session = stack.enter_context(self._session_factory())
        self.audit = SqlAuditTrail(self.session)

    def _commit(self) -> None:
        self.session.commit()

    def _rollback(self) -> None:
        self.session.rollback()
