"""A ``Metrics`` that remembers what it heard, for tests."""

from __future__ import annotations

from collections import Counter

from customshop.application.ports import GiveUpReason, RenderKind, RenderOutcome, WebhookTarget


class RecordingMetrics:
    """Implements ``Metrics``: counts each outcome by its labels, in ``renders`` (``(kind,
    outcome)``) and ``given_up`` (``(target, reason)``)."""

    def __init__(self) -> None:
        self.renders: Counter[tuple[RenderKind, RenderOutcome]] = Counter()
        self.given_up: Counter[tuple[WebhookTarget, GiveUpReason]] = Counter()

    def render_finished(self, kind: RenderKind, outcome: RenderOutcome) -> None:
        self.renders[kind, outcome] += 1

    def webhook_given_up(self, target: WebhookTarget, reason: GiveUpReason) -> None:
        self.given_up[target, reason] += 1
