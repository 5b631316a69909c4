"""The workspace holiday schedule's tables: entered days and the years marked complete.

They live in the workspace database (SQLite or PostgreSQL), so every process and host that
shares it (pool workers with their own cache folders) plans with the same days.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel


class CalendarDay(SQLModel, table=True):
    """One entered day: a holiday (休) or a workday (班, e.g. an adjusted Saturday)."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    workday: bool
    name: str | None = None


class CalendarYear(SQLModel, table=True):
    """A year whose whole schedule the workspace entered: its other days follow Mon-Fri."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True)
    marked_by: str
    marked_at: datetime
    source: str
    """How it was marked: `import FILE` or `complete`."""
