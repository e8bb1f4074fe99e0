"""Domain errors: one named exception per broken rule, grouped by what the caller can do about it.

The groups map one-to-one onto answers at the edges (see ``entrypoints/http/errors.py`` and the
CLI): :class:`InvalidInput` is the caller's bad input (HTTP 400), :class:`NotFound` an unknown
resource (404), :class:`Conflict` a clash with the current state (409).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule in some input.

    Attributes:
        field: where, as a dotted path from the input's root (``definition.zones[2].max_length``,
            ``options.front_text``).
        code: a stable machine-readable reason (``too_long``, ``not_in_palette``, ``duplicate``...).
        message: a sentence for people.
        zone_id: the template zone concerned, when there is one.
    """

    field: str
    code: str
    message: str
    zone_id: str | None = None


class DomainError(Exception):
    """Base of every error customshop raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    """The input breaks one or more rules; ``violations`` lists every one of them."""

    def __init__(self, violations: Iterable[Violation], message: str = "The input is invalid.") -> None:
        super().__init__(message)
        self.violations: tuple[Violation, ...] = tuple(violations)


class InvalidDefinition(InvalidInput):
    """A template definition breaks one or more definition rules."""


class InvalidOptionSet(InvalidInput):
    """An option set breaks a rule (for instance, two options share a code)."""


class InvalidProduct(InvalidInput):
    """A product's fields break a rule."""


class InvalidMoney(DomainError, ValueError):
    """An amount that is not a whole number of minor units in a known currency."""


class CurrencyMismatch(DomainError, ValueError):
    """Two amounts in different currencies were combined."""


class NotFound(DomainError):
    """The resource does not exist (or is not visible to the caller)."""


class ProductNotFound(NotFound):
    pass


class OptionSetNotFound(NotFound):
    pass


class Conflict(DomainError):
    """The request clashes with the current state; ``violations`` may name what clashed."""

    def __init__(self, message: str, violations: Iterable[Violation] = ()) -> None:
        super().__init__(message)
        self.violations: tuple[Violation, ...] = tuple(violations)


class DuplicateSlug(Conflict):
    pass


class DuplicateTemplateVersion(Conflict):
    pass


class OptionSetInUse(Conflict):
    """An option set that templates refer to cannot be deleted or moved to another product."""


class AccessDenied(DomainError):
    """The API key is missing, unknown, revoked, or lacks the scope the operation needs."""
