"""Version numbers `<major>.<minor>`: parsing, ordering and the next number to assign."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sop_models.errors import VersionNotFound

_VERSION_RE = re.compile(r"^[vV]?(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    """A saved version's number; orders numerically (1.10 > 1.9)."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def label(self) -> str:
        """The form used in tags and changelogs: `v2.0`."""
        return f"v{self}"

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse `2.0` or `v2.0`; raise VersionNotFound for anything else."""
        match = _VERSION_RE.match(text.strip())
        if not match:
            raise VersionNotFound(f"not a version number: {text!r} (expected e.g. 1.0 or v2.1)")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def is_version(cls, text: str) -> bool:
        """True when `text` looks like a version number rather than an alias."""
        return bool(_VERSION_RE.match(text.strip()))


def next_version(latest: Version | None, *, major: bool) -> Version:
    """The number a new save gets: 1.0 first, then minor bumps unless `major`."""
    if latest is None:
        return Version(1, 0)
    if major:
        return Version(latest.major + 1, 0)
    return Version(latest.major, latest.minor + 1)
