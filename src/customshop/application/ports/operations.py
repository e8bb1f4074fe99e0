"""What operators count and alert on."""

from __future__ import annotations

from typing import Literal, Protocol

#: What a rendering made: a design session's preview, or an order line's print file.
RenderKind = Literal["preview", "print"]


#: How one rendering attempt ended: the file is stored; it failed for good; it failed and is tried again.
RenderOutcome = Literal["succeeded", "failed", "retried"]


#: Who a webhook delivery was for: a registered partner endpoint, or the configured fulfillment partner.
WebhookTarget = Literal["partner", "fulfillment"]


#: Why a delivery was given up: its retry schedule ran out; the receiver answered 410 Gone; its
#: endpoint was disabled (or the fulfillment endpoint unconfigured) before the attempt.
GiveUpReason = Literal["exhausted", "gone", "disabled"]


class Metrics(Protocol):
    """Hears the outcomes operators count and alert on, for a metrics backend (Prometheus in
    production, ``adapters/metrics``).

    Use cases call it once per outcome, after the outcome is committed, so a rolled-back change is
    never counted. An implementation returns at once and never raises.
    """

    def render_finished(self, kind: RenderKind, outcome: RenderOutcome) -> None:
        """One rendering attempt ended (a vanished renderer counts as a failed attempt)."""
        ...

    def webhook_given_up(self, target: WebhookTarget, reason: GiveUpReason) -> None:
        """A webhook delivery became ``failed``: nothing more is sent unless an operator retries it."""
        ...


class NoMetrics:
    """The :class:`Metrics` of use cases built without one: counts nothing."""

    def render_finished(self, kind: RenderKind, outcome: RenderOutcome) -> None:
        return None

    def webhook_given_up(self, target: WebhookTarget, reason: GiveUpReason) -> None:
        return None
