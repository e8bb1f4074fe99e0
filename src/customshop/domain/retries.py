"""Work retried until it succeeds or its schedule runs out, each attempt holding a lease: one policy
for webhook deliveries, emails, print files and previews.

The pattern every one of them follows:

1. **Begin** an attempt (:meth:`Attempts.begin`) in a transaction that locks the row: the attempt is
   counted and the row leased (due again when the lease runs out), then committed before the slow
   work starts. A worker that dies mid-attempt leaves the lease to run out and the work is handed on
   again; once as many attempts as the policy allows were begun and none reported back, the next
   begin gives up instead.
2. **Do** the work outside any transaction.
3. **Record** its outcome in a second transaction that locks the row again and first checks that
   the attempt is still the current one (:meth:`Attempts.is_current`): an attempt whose lease ran
   out and whose work was handed on records nothing, the newer attempt does.
   :meth:`Attempts.succeeded` finishes the work; :meth:`Attempts.failed` says when to retry, or to
   give up once the last delay was used.

Everything is pure: the current time and the jitter are the caller's arguments (the jitter drawn,
for instance, with ``random.uniform(-policy.jitter, policy.jitter)``), so the same inputs always give
the same answer.

>>> from datetime import datetime, timedelta, timezone
>>> policy = RetryPolicy(delays=(10, 60), lease=timedelta(minutes=2), jitter=0.0)
>>> now = datetime(2026, 1, 1, tzinfo=timezone.utc)
>>> policy.attempts(0).begin(now)
Leased(attempt=1, until=datetime.datetime(2026, 1, 1, 0, 2, tzinfo=datetime.timezone.utc))
>>> policy.attempts(1).failed(now, 0.0)
Retry(attempt=1, at=datetime.datetime(2026, 1, 1, 0, 0, 10, tzinfo=datetime.timezone.utc))
>>> policy.attempts(3).failed(now, 0.0)
GiveUp(attempts=3, reason='exhausted')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal


class JobStatus(StrEnum):
    """Where a piece of retried work stands; the values are the strings stored and shown.

    Each kind of work spells its states in its own words, kept as they always were:

    ============== ============= ====================== ================
    work           waiting       finished well          given up
    ============== ============= ====================== ================
    webhook        ``pending``   ``delivered``          ``failed``
    email          ``pending``   ``sent``               ``failed``
    print file     ``pending``   ``ready``              ``failed``
    preview        ``queued``    ``done``               ``failed``
    ============== ============= ====================== ================

    A waiting webhook, email or print file holds a lease while an attempt runs (its due time is the
    lease's end); a preview shows the attempt as ``running``.
    """

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    READY = "ready"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


#: Largest jitter a :class:`RetryPolicy` may have (and :func:`retry_delay` accepts by default), as a
#: fraction of the delay, either way.
MAX_JITTER = 0.1


def retry_delay(
    attempt: int, schedule: Sequence[float], jitter: float, max_jitter: float = MAX_JITTER
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` when there is none left to make.

    The jitter spreads out retries that would otherwise fall together (when many attempts failed at
    once). The caller draws it, so that randomness stays out of the domain.

    Args:
        attempt: How many attempts were made so far (1 after the first).
        schedule: Seconds between successive attempts: the delay after attempt ``n`` is
            ``schedule[n - 1]``. None may be negative.
        jitter: A fraction in ``[-max_jitter, max_jitter]`` the delay is scaled by (``1 + jitter``).
        max_jitter: The largest jitter allowed, either way.

    Returns:
        ``schedule[attempt - 1] * (1 + jitter)``, never negative; ``None`` once ``attempt`` exceeds
        the schedule's length.

    Raises:
        ValueError: ``attempt`` is below 1, ``jitter`` is outside its range (or not a number), or
            the scheduled delay is negative.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts attempts made, from 1, not {attempt}")
    if not -max_jitter <= jitter <= max_jitter:
        raise ValueError(f"jitter is a fraction between {-max_jitter} and {max_jitter}, not {jitter}")
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1]
    if delay < 0:
        raise ValueError(f"a retry schedule has no negative delay, not {delay}")
    return max(0.0, delay * (1.0 + jitter))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a kind of work is retried.

    Attributes:
        delays: Seconds to wait after each failed attempt before the next: after attempt ``n``,
            ``delays[n - 1]``. One retry per entry, so ``len(delays) + 1`` attempts in all.
        lease: How long a begun attempt keeps its work from being handed on again; longer than an
            attempt may take.
        jitter: The largest fraction each delay may be scaled by, either way (0 for none).

    Raises:
        ValueError: a negative delay, a lease that is not positive, or a jitter outside
            ``[0, MAX_JITTER]``.
    """

    delays: tuple[float, ...]
    lease: timedelta
    jitter: float = MAX_JITTER

    def __post_init__(self) -> None:
        if any(delay < 0 for delay in self.delays):
            raise ValueError(f"a retry schedule has no negative delay, not {self.delays}")
        if self.lease <= timedelta(0):
            raise ValueError(f"a lease is longer than nothing, not {self.lease}")
        if not 0 <= self.jitter <= MAX_JITTER:
            raise ValueError(f"jitter is a fraction between 0 and {MAX_JITTER}, not {self.jitter}")

    @property
    def max_attempts(self) -> int:
        """How many attempts the schedule allows: one, and one per delay."""
        return len(self.delays) + 1

    def attempts(self, made: int) -> Attempts:
        """The attempts of one piece of work, ``made`` of which were begun so far."""
        return Attempts(self, made)

    def lease_until(self, now: datetime) -> datetime:
        """When a lease taken ``now`` runs out (the work is due again then)."""
        return now + self.lease


@dataclass(frozen=True, slots=True)
class Leased:
    """An attempt begun: number ``attempt`` (from 1), its work held until ``until``."""

    attempt: int
    until: datetime


@dataclass(frozen=True, slots=True)
class Retry:
    """Attempt number ``attempt`` failed; the next is due ``at``."""

    attempt: int
    at: datetime


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Nothing more is tried after ``attempts`` attempts: every delay was used (``exhausted``), or
    as many attempts as allowed were begun and none reported back (``abandoned``: the work kills its
    worker, or never reaches one)."""

    attempts: int
    reason: Literal["exhausted", "abandoned"]


@dataclass(frozen=True, slots=True)
class Done:
    """Attempt number ``attempt`` succeeded; nothing more is tried."""

    attempt: int


@dataclass(frozen=True, slots=True)
class Attempts:
    """The attempts made at one piece of work under a policy: ``made`` begun so far (stored with the
    work). See the module's documentation for the order of the calls."""

    policy: RetryPolicy
    made: int = 0

    def __post_init__(self) -> None:
        if self.made < 0:
            raise ValueError(f"attempts made are not negative, not {self.made}")

    def begin(self, now: datetime, *, granted: bool = False) -> Leased | GiveUp:
        """Begin the next attempt, leased from ``now``; or give up (``abandoned``) when the policy's
        attempts were all begun already (none of them reported back, or the work would not be
        waiting).

        Args:
            granted: An operator asked for this attempt: it is begun even beyond the schedule
                (and gives up at once if it fails).
        """
        if self.made >= self.policy.max_attempts and not granted:
            return GiveUp(self.made, "abandoned")
        return Leased(self.made + 1, self.policy.lease_until(now))

    def is_current(self, attempt: int) -> bool:
        """Whether attempt number ``attempt`` is the latest begun, so may record its outcome."""
        return attempt == self.made

    def failed(self, now: datetime, jitter: float) -> Retry | GiveUp:
        """The latest attempt failed at ``now``: retry after its delay scaled by ``1 + jitter``, or
        give up (``exhausted``) when it was the last the schedule allows.

        Raises:
            ValueError: no attempt was begun, or ``jitter`` is outside ``[-policy.jitter, policy.jitter]``.
        """
        delay = retry_delay(self.made, self.policy.delays, jitter, self.policy.jitter)
        if delay is None:
            return GiveUp(self.made, "exhausted")
        return Retry(self.made, now + timedelta(seconds=delay))

    def succeeded(self) -> Done:
        """The latest attempt succeeded.

        Raises:
            ValueError: no attempt was begun.
        """
        if self.made < 1:
            raise ValueError("no attempt was begun, so none succeeded")
        return Done(self.made)
