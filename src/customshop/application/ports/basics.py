"""Time, ids and pages: what every use case may need."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing. ``next_after`` is the sort key to continue after, or ``None`` at the end."""

    items: list[T]
    next_after: str | None


class Clock(Protocol):
    """The current time. Always timezone-aware UTC."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """New opaque, unguessable identifiers. Successive ids sort in creation order within a process."""

    def new_id(self) -> str: ...
