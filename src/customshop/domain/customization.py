"""Guest customization sessions, their uploaded images, and preview render jobs."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from customshop.domain.errors import Conflict
from customshop.domain.retries import GiveUp, JobStatus, Retry, RetryPolicy

#: How long a guest's session key stays good after it was issued, or last started a design session:
#: as long as the browser keeps its cookie.
GUEST_KEY_LIFETIME = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class CustomizationSession:
    """A guest's design of one product, pinned to the template version it started with.

    ``guest`` is the hash of the guest's session key: the only link between a guest and what it owns.
    ``options`` is the design in its JSON form (see ``validation.Design.to_dict``).
    """

    id: str
    guest: str
    product_id: str
    template_id: str
    template_version: int
    options: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at

    def owned_by(self, guest: str | None) -> bool:
        return guest is not None and guest == self.guest


@dataclass(frozen=True, slots=True)
class Asset:
    """An uploaded image, sanitized (orientation applied, metadata stripped) and stored.

    ``bytes`` is the size of the upload as the guest sent it; ``sha256`` is the digest of the stored
    (sanitized) file, which is what a rendered design depends on.
    """

    id: str
    session_id: str
    content_type: str
    width: int
    height: int
    bytes: int
    sha256: str
    storage_key: str
    created_at: datetime


#: A preview job's status: ``QUEUED``, ``RUNNING``, ``DONE`` or ``FAILED``, of the one status of
#: retried jobs.
PreviewStatus = JobStatus


#: Attempts of one render before it is reported failed.
MAX_RENDER_ATTEMPTS = 3


def preview_retries(render_timeout: timedelta) -> RetryPolicy:
    """How preview renders are retried: :data:`MAX_RENDER_ATTEMPTS` attempts, a failed one queued
    again at once (no delay, no jitter: a guest is waiting), each holding its job for twice the
    render timeout (the queue stops a render at the timeout, so a live one has long since failed or
    finished)."""
    return RetryPolicy(delays=(0,) * (MAX_RENDER_ATTEMPTS - 1), lease=render_timeout * 2, jitter=0.0)


@dataclass(frozen=True, slots=True)
class PreviewJob:
    """A request to render a design. Jobs of identical designs share one rendered file
    (``design_hash``), so a repeated request is answered from the first render.

    Transitions: queued → running → done | failed, and running → queued to retry (after a failed
    attempt, or when the worker running it disappeared), as the job's :class:`RetryPolicy` says.
    """

    id: str
    session_id: str
    design_hash: str
    status: PreviewStatus
    attempts: int
    storage_key: str
    created_at: datetime
    updated_at: datetime
    error: str | None = None

    def start(self, now: datetime, policy: RetryPolicy) -> PreviewJob:
        """Begin the next attempt: running; or failed when every attempt allowed was begun already.

        Raises:
            Conflict: the job is not queued.
        """
        if self.status is not PreviewStatus.QUEUED:
            raise Conflict(f"preview {self.id} is {self.status}, not queued")
        begun = policy.attempts(self.attempts).begin(now)
        if isinstance(begun, GiveUp):
            reason = f"{begun.attempts} renders were started and none finished"
            return replace(self, status=PreviewStatus.FAILED, error=reason, updated_at=now)
        return replace(self, status=PreviewStatus.RUNNING, attempts=begun.attempt, updated_at=now)

    def owns(self, attempt: int, policy: RetryPolicy) -> bool:
        """Whether attempt number ``attempt`` is the one running, so may record its outcome."""
        return self.status is PreviewStatus.RUNNING and policy.attempts(self.attempts).is_current(attempt)

    def finish(self, now: datetime) -> PreviewJob:
        return replace(self, status=PreviewStatus.DONE, error=None, updated_at=now)

    def fail(self, reason: str, now: datetime, policy: RetryPolicy) -> PreviewJob:
        """After a failed attempt: queued again while attempts remain, else failed with the reason."""
        if isinstance(policy.attempts(self.attempts).failed(now, 0.0), Retry):
            return replace(self, status=PreviewStatus.QUEUED, error=reason, updated_at=now)
        return replace(self, status=PreviewStatus.FAILED, error=reason, updated_at=now)

    def abandon(self, reason: str, now: datetime) -> PreviewJob:
        """A queued job that could not be handed to the job queue: failed at once, without an attempt,
        so that a new request for the design makes a new job instead of waiting on this one."""
        if self.status is not PreviewStatus.QUEUED:
            raise Conflict(f"preview {self.id} is {self.status}, not queued")
        return replace(self, status=PreviewStatus.FAILED, error=reason, updated_at=now)

    def is_stalled(self, now: datetime, timeout: timedelta) -> bool:
        """Queued or running for longer than ``timeout`` (the lease) without news: its runner is gone."""
        return (
            self.status in (PreviewStatus.QUEUED, PreviewStatus.RUNNING) and now - self.updated_at > timeout
        )


def design_hash(template_id: str, options: dict[str, Any], asset_digests: dict[str, str], size: str) -> str:
    """A digest of everything a rendering depends on: the template version, the design, the content of
    its images (not their ids: the same picture uploaded twice renders the same) and the output size.

    ``asset_digests`` maps each asset id the design names to the digest of its stored file.
    """

    def content(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"asset_id"}:
            return {"image": asset_digests.get(value["asset_id"], value["asset_id"])}
        return value

    canonical = json.dumps(
        {"template": template_id, "options": {k: content(v) for k, v in options.items()}, "size": size},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
