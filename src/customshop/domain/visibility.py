"""Conditional zones: which zones of a template a design shows.

A zone with ``visible_when: {zone, in}`` (:class:`~customshop.domain.templates.VisibleWhen`) shows
only while the option zone ``zone`` shows and has one of the codes ``in`` chosen (with ``multiple``,
any chosen code counts). A zone without a condition always shows. So a zone whose controlling option
zone is itself hidden is hidden too, however its controller's value reads.

A hidden zone is not required, not priced and not drawn; its value is not checked and is kept in
the design session (it returns when the zone shows again) but left out of cart lines and orders.
Validation (``domain/validation.py``), pricing (``domain/pricing.py``) and the renderer all decide
through :func:`condition_met`, in the order :func:`controllers_first` gives.

A checked definition has no cycle of conditions (``domain/template_parsing.py`` refuses one, with
:func:`condition_cycles`); the functions here still end on one, treating its zones as hidden.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from customshop.domain.templates import TemplateDefinition, VisibleWhen, Zone


def chosen_codes(value: object) -> tuple[str, ...]:
    """The option codes an option zone's value chooses: ``"L"`` or ``["ribbon", "card"]`` (a
    checked value's tuple too); nothing for any other value."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(code for code in value if isinstance(code, str))
    return ()


def condition_met(
    condition: VisibleWhen | None, shown: Collection[str], values: Mapping[str, object]
) -> bool:
    """Whether a zone with ``condition`` shows, given the zones found shown so far (its controller
    is among them when it shows: see :func:`controllers_first`) and the design's values."""
    if condition is None:
        return True
    if condition.zone not in shown:
        return False
    chosen = values.get(condition.zone)
    if isinstance(chosen, str):  # the common case, spared building a tuple
        return chosen in condition.codes
    return any(code in condition.codes for code in chosen_codes(chosen))


def is_conditional(definition: TemplateDefinition) -> bool:
    """Whether any zone of ``definition`` has a condition."""
    return any(zone.visible_when is not None for zone in definition.zones)


def controllers_first(definition: TemplateDefinition) -> Sequence[Zone]:
    """The zones, each after the zone its condition names, otherwise in template order (the
    definition's own tuple when no zone is conditional): worked out once, when the definition is made
    (``TemplateDefinition.controllers_first``)."""
    return definition.controllers_first


def shown_zones(definition: TemplateDefinition, values: Mapping[str, object]) -> frozenset[str]:
    """The ids of the zones a design with ``values`` (zone id → value, checked or raw) shows."""
    shown: set[str] = set()
    for zone in controllers_first(definition):
        if condition_met(zone.visible_when, shown, values):
            shown.add(zone.id)
    return frozenset(shown)


def resolve(definition: TemplateDefinition, values: Mapping[str, object]) -> TemplateDefinition:
    """The definition as a design with ``values`` sees it: its hidden zones left out and the
    conditions of the others dropped. For drawing a design recorded without its option codes
    (print files draw an order line's artwork, not the options the catalog may have changed since).
    """
    if not is_conditional(definition):
        return definition
    shown = shown_zones(definition, values)
    zones = tuple(replace(zone, visible_when=None) for zone in definition.zones if zone.id in shown)
    return replace(definition, zones=zones)


def condition_cycles(controller_of: Mapping[str, str]) -> list[tuple[str, ...]]:
    """The cycles among conditions: ``controller_of`` maps each conditional zone to the zone its
    condition names (one each). Every cycle is given once, starting from the zone met first in
    ``controller_of``'s order, in the order of its conditions (``a`` shows when ``b`` does...)."""
    cycles: list[tuple[str, ...]] = []
    done: set[str] = set()
    for start in controller_of:
        path: list[str] = []
        index_of: dict[str, int] = {}
        node: str | None = start
        while node is not None and node not in done:
            if node in index_of:
                cycles.append(tuple(path[index_of[node] :]))
                break
            index_of[node] = len(path)
            path.append(node)
            node = controller_of.get(node)
        done.update(path)
    return cycles
