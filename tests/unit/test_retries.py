"""The one retry policy of webhook deliveries, emails, print files and previews (domain/retries.py):
whatever happens to the attempts, they never outnumber the schedule, every retry falls on its
delay within the jitter, every lease runs out, and the work is given up exactly after the last delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customshop.domain.retries import (
    MAX_JITTER,
    Attempts,
    Done,
    GiveUp,
    JobStatus,
    Leased,
    Retry,
    RetryPolicy,
)

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)

policies = st.builds(
    RetryPolicy,
    delays=st.lists(st.integers(0, 100_000), max_size=8).map(tuple),
    lease=st.integers(1, 86_400).map(lambda seconds: timedelta(seconds=seconds)),
    jitter=st.sampled_from([0.0, 0.05, MAX_JITTER]),
)

#: What becomes of one attempt: it fails, its worker dies (nothing is reported), or it succeeds.
FATES = st.sampled_from(["fails", "dies", "succeeds"])


@given(policy=policies, fates=st.lists(FATES, max_size=20), data=st.data())
def test_attempts_stay_within_the_schedule_whatever_happens(
    policy: RetryPolicy, fates: list[str], data: st.DataObject
) -> None:
    now, attempts, end = T0, policy.attempts(0), None
    for fate in fates:
        begun = attempts.begin(now)
        if isinstance(begun, GiveUp):  # every attempt allowed was begun, and the last one died
            assert begun == GiveUp(policy.max_attempts, "abandoned")
            end = begun
            break
        # A lease always runs out, exactly one lease after the attempt began.
        assert begun == Leased(attempts.made + 1, now + policy.lease) and begun.until > now
        assert not attempts.is_current(begun.attempt)  # the attempt before is overtaken
        attempts = policy.attempts(begun.attempt)
        assert attempts.is_current(begun.attempt)
        assert attempts.made <= policy.max_attempts
        if fate == "dies":
            now = begun.until  # nothing reported: due again once the lease runs out
            continue
        if fate == "succeeds":
            end = attempts.succeeded()
            assert end == Done(begun.attempt)
            break
        jitter = data.draw(st.floats(-policy.jitter, policy.jitter))
        failed_at = now + timedelta(seconds=data.draw(st.integers(0, 3600)))
        outcome = attempts.failed(failed_at, jitter)
        if begun.attempt <= len(policy.delays):
            assert isinstance(outcome, Retry) and outcome.attempt == begun.attempt
            delay = policy.delays[begun.attempt - 1]
            low, high = delay * (1 - policy.jitter), delay * (1 + policy.jitter)
            assert low - 1e-6 <= (outcome.at - failed_at).total_seconds() <= high + 1e-6
            now = outcome.at
        else:  # give up exactly after the last delay was used
            assert outcome == GiveUp(policy.max_attempts, "exhausted")
            end = outcome
            break
    assert attempts.made <= policy.max_attempts
    if end is None:
        assert attempts.made < policy.max_attempts or isinstance(attempts.begin(now), GiveUp)


@given(
    delays=st.lists(st.integers(0, 100_000), min_size=2, max_size=8).map(lambda d: tuple(sorted(d))),
    data=st.data(),
)
def test_retries_of_a_growing_schedule_never_come_sooner_beyond_the_jitter(
    delays: tuple[int, ...], data: st.DataObject
) -> None:
    policy = RetryPolicy(delays, timedelta(minutes=2))
    waits = []
    for attempt in range(1, len(delays) + 1):
        retry = policy.attempts(attempt).failed(T0, data.draw(st.floats(-MAX_JITTER, MAX_JITTER)))
        assert isinstance(retry, Retry)
        waits.append((retry.at - T0).total_seconds())
    squeeze = (1 - MAX_JITTER) / (1 + MAX_JITTER)
    assert all(later >= earlier * squeeze - 1e-6 for earlier, later in pairwise(waits))


def test_an_operator_may_grant_one_attempt_beyond_the_schedule() -> None:
    policy = RetryPolicy((5,), timedelta(minutes=2))
    used_up = policy.attempts(policy.max_attempts)
    assert used_up.begin(T0) == GiveUp(2, "abandoned")
    assert used_up.begin(T0, granted=True) == Leased(3, T0 + timedelta(minutes=2))
    assert policy.attempts(3).failed(T0, 0.0) == GiveUp(3, "exhausted")  # and it fails for good


@pytest.mark.parametrize(
    ("delays", "lease", "jitter", "message"),
    [
        ((5, -1), timedelta(minutes=1), 0.0, "no negative delay"),
        ((5,), timedelta(0), 0.0, "longer than nothing"),
        ((5,), timedelta(minutes=1), 0.5, "jitter is a fraction"),
    ],
)
def test_a_policy_refuses_negative_delays_an_empty_lease_and_a_wild_jitter(
    delays: tuple[int, ...], lease: timedelta, jitter: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(delays, lease, jitter)


def test_an_outcome_needs_an_attempt_and_a_jitter_within_the_policy() -> None:
    policy = RetryPolicy((5,), timedelta(minutes=1), jitter=0.0)
    with pytest.raises(ValueError, match="no attempt was begun"):
        Attempts(policy, 0).succeeded()
    with pytest.raises(ValueError, match="counts attempts made"):
        Attempts(policy, 0).failed(T0, 0.0)
    with pytest.raises(ValueError, match="jitter is a fraction"):
        Attempts(policy, 1).failed(T0, 0.05)  # this policy has no jitter


def test_the_job_status_keeps_the_strings_stored_and_served() -> None:
    assert {status.value for status in JobStatus} == {
        "pending",
        "queued",
        "running",
        "done",
        "ready",
        "sent",
        "delivered",
        "failed",
    }
