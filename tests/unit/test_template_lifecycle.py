"""The template lifecycle on the in-memory adapters: any sequence of creations, edits, publications,
retirements and default changes keeps one published default at most, moves only as the table says,
refuses the rest with a 409 that stores nothing, bumps the catalog's version stamp with every change,
and lets guests start sessions on published versions only. Plus the cases a sequence rarely meets."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from customshop.adapters.imaging import PillowImageProcessor, PillowRenderer
from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.memory.storage import MemoryFileStorage
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.application.customization import Customization
from customshop.domain.catalog import Option
from customshop.domain.errors import InvalidDefinition, InvalidInput, OptionSetInUse
from customshop.domain.templates import (
    TEMPLATE_MOVES,
    DefaultTemplateRetirement,
    DefinitionOutOfDate,
    IllegalTemplateMove,
    TemplateNotDraft,
    TemplateNotFound,
    TemplateStatus,
)
from tests.builders import IDS

D, P, R = TemplateStatus.DRAFT, TemplateStatus.PUBLISHED, TemplateStatus.RETIRED
CANVAS = {"width": 100, "height": 100}


def definition(text_length: int = 10, option_set_id: str | None = None) -> dict[str, Any]:
    zones: list[dict[str, Any]] = [
        {
            "id": "line",
            "type": "text",
            "max_length": text_length,
            "area": {"x": 0, "y": 0, "width": 50, "height": 10},
        }
    ]
    if option_set_id is not None:
        zones.append({"id": "size", "type": "option", "option_set_id": option_set_id})
        zones.append(
            {
                "id": "note",
                "type": "text",
                "area": {"x": 0, "y": 50, "width": 50, "height": 10},
                "visible_when": {"zone": "size", "in": ["XL"]},
            }
        )
    return {"canvas": CANVAS, "zones": zones}


async def no_jobs(name: str, payload: Any) -> None:
    raise AssertionError(f"no job expected, got {name}")


class Shop:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.clock = ManualClock()
        uow = partial(MemoryUnitOfWork, self.store)
        self.catalog = Catalog(uow, self.clock, IDS, "USD")
        self.customization = Customization(
            uow,
            self.clock,
            IDS,
            MemoryFileStorage(),
            PillowImageProcessor(),
            PillowRenderer(),
            InProcessJobQueue(no_jobs),
            session_ttl=timedelta(days=7),
            render_timeout=timedelta(seconds=30),
        )

    @property
    def version_stamp(self) -> int:
        return self.store.catalog_state["version"]


# --------------------------------------------------------------------------------------------------
# 1. The lifecycle as a state machine, against a model written from the contract


@dataclass
class Version:
    id: str
    status: TemplateStatus
    is_default: bool = False


class TemplateLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.shop = Shop()
        self.product = self.run(self.shop.catalog.create_product(ProductInput("Tee", "", 1000))).id
        self.versions: dict[int, Version] = {}

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.loop.close()

    def expect_refusal(self, work: Any, error: type[Exception]) -> None:
        stamp, stored = self.shop.version_stamp, dict(self.shop.store.templates)
        with pytest.raises(error):
            self.run(work)
        assert (self.shop.version_stamp, self.shop.store.templates) == (stamp, stored)  # nothing stored

    def expect_change(self, work: Any) -> None:
        stamp = self.shop.version_stamp
        self.run(work)
        assert self.shop.version_stamp == stamp + 1  # every change is a catalog write

    @property
    def default(self) -> int | None:
        return next((number for number, v in self.versions.items() if v.is_default), None)

    @rule(status=st.sampled_from(TemplateStatus), is_default=st.sampled_from([None, True, False]))
    def create(self, status: TemplateStatus, is_default: bool | None) -> None:
        number = len(self.versions) + 1
        work = self.shop.catalog.create_template(
            TemplateInput(self.product, number, definition(), is_default, status)
        )
        if is_default and status is not P:
            self.expect_refusal(work, InvalidInput)
            return
        stamp = self.shop.version_stamp
        created = self.run(work)
        assert self.shop.version_stamp == stamp + 1
        becomes_default = is_default if is_default is not None else status is P and self.default is None
        if becomes_default and self.default is not None:
            self.versions[self.default].is_default = False
        self.versions[number] = Version(created.id, status, bool(becomes_default))

    def pick(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.versions)))

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def publish(self, data: st.DataObject) -> None:
        number = self.pick(data)
        version = self.versions[number]
        work = self.shop.catalog.publish_template(version.id)
        if version.status is P:  # a draft is published, a retired version again; nothing else
            self.expect_refusal(work, IllegalTemplateMove)
            return
        self.expect_change(work)
        version.status = P
        if self.default is None:  # a product without a default gets this one
            version.is_default = True

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def retire(self, data: st.DataObject) -> None:
        version = self.versions[self.pick(data)]
        work = self.shop.catalog.retire_template(version.id)
        if version.is_default:
            self.expect_refusal(work, DefaultTemplateRetirement)
        elif version.status is not P:
            self.expect_refusal(work, IllegalTemplateMove)
        else:
            self.expect_change(work)
            version.status = R

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def make_default(self, data: st.DataObject) -> None:
        number = self.pick(data)
        version = self.versions[number]
        work = self.shop.catalog.make_default_template(version.id)
        if version.status is not P:
            self.expect_refusal(work, IllegalTemplateMove)
        elif version.is_default:  # idempotent: nothing written
            stamp = self.shop.version_stamp
            assert self.run(work).is_default
            assert self.shop.version_stamp == stamp
        else:
            self.expect_change(work)
            if self.default is not None:
                self.versions[self.default].is_default = False
            version.is_default = True

    @precondition(lambda self: self.versions)
    @rule(data=st.data(), length=st.integers(1, 50))
    def edit(self, data: st.DataObject, length: int) -> None:
        version = self.versions[self.pick(data)]
        work = self.shop.catalog.revise_template(version.id, definition(length))
        if version.status is not D:
            self.expect_refusal(work, TemplateNotDraft)
            return
        self.expect_change(work)
        line = self.shop.store.templates[version.id].definition.zone("line")
        assert line is not None and getattr(line, "max_length", None) == length

    @precondition(lambda self: self.versions)
    @rule(data=st.data())
    def start_a_session(self, data: st.DataObject) -> None:
        number = self.pick(data)
        version = self.versions[number]
        work = self.shop.customization.start(self.product, number, None)
        if version.status is P:
            assert self.run(work).session.template_id == version.id
            return
        with pytest.raises(InvalidInput) as caught:
            self.run(work)
        assert [(v.field, v.code) for v in caught.value.violations] == [
            ("template_version", "retired" if version.status is R else "not_found")  # a draft is unknown
        ]

    @invariant()
    def the_store_is_the_model(self) -> None:
        stored = {t.version: (t.id, t.status, t.is_default) for t in self.shop.store.templates.values()}
        assert stored == {n: (v.id, v.status, v.is_default) for n, v in self.versions.items()}

    @invariant()
    def the_default_is_one_published_version(self) -> None:
        defaults = [v for v in self.versions.values() if v.is_default]
        assert len(defaults) <= 1
        assert all(v.status is P for v in defaults)

    @invariant()
    def guests_list_every_version_but_drafts(self) -> None:
        listed = self.run(
            self.shop.catalog.list_templates(
                self.product, include_inactive=False, before_version=None, limit=200
            )
        )
        assert [t.version for t in listed.items] == sorted(
            (n for n, v in self.versions.items() if v.status is not D), reverse=True
        )


TemplateLifecycle.TestCase.settings = settings(
    max_examples=max(20, settings().max_examples // 3), stateful_step_count=25
)
TestTemplateLifecycle = TemplateLifecycle.TestCase


def test_the_table_of_moves() -> None:
    assert {D: {P}, P: {R}, R: {P}} == TEMPLATE_MOVES  # a published definition never becomes a draft


# --------------------------------------------------------------------------------------------------
# 2. Cases a random sequence rarely meets


@pytest.fixture
def shop() -> Shop:
    return Shop()


async def test_a_draft_edit_is_checked_like_a_new_version_and_a_published_one_is_refused_first(
    shop: Shop,
) -> None:
    tee = await shop.catalog.create_product(ProductInput("Tee", "", 1000))
    draft = await shop.catalog.create_template(TemplateInput(tee.id, 1, definition(), status=D))
    assert not draft.is_default  # a draft is never the default, even the product's first version
    broken = {"canvas": {"width": 0, "height": 10}, "zones": [{"id": "x", "type": "nope"}]}
    with pytest.raises(InvalidDefinition) as caught:
        await shop.catalog.revise_template(draft.id, broken)
    assert {v.field for v in caught.value.violations} == {
        "definition.canvas.width",
        "definition.zones[0].type",
    }
    assert shop.store.templates[draft.id] == draft

    published = await shop.catalog.publish_template(draft.id)
    assert published.is_default  # the product had none
    with pytest.raises(TemplateNotDraft):  # not a 400 about the definition: it cannot change at all
        await shop.catalog.revise_template(draft.id, broken)
    with pytest.raises(TemplateNotFound):
        await shop.catalog.publish_template("no-such-template")


async def test_an_edit_moves_the_option_sets_a_draft_holds(shop: Shop) -> None:
    tee = await shop.catalog.create_product(ProductInput("Tee", "", 1000))
    sizes = await shop.catalog.create_option_set(
        OptionSetInput(tee.id, "Size", (Option("M", "Medium"), Option("XL", "Extra large")))
    )
    draft = await shop.catalog.create_template(TemplateInput(tee.id, 1, definition(10, sizes.id), status=D))
    with pytest.raises(OptionSetInUse):  # a draft holds its option sets too
        await shop.catalog.delete_option_set(sizes.id)
    await shop.catalog.revise_template(draft.id, definition())
    await shop.catalog.delete_option_set(sizes.id)


async def test_publishing_checks_the_definition_against_the_option_sets_of_now(shop: Shop) -> None:
    tee = await shop.catalog.create_product(ProductInput("Tee", "", 1000))
    sizes = await shop.catalog.create_option_set(
        OptionSetInput(tee.id, "Size", (Option("M", "Medium"), Option("XL", "Extra large")))
    )
    draft = await shop.catalog.create_template(TemplateInput(tee.id, 1, definition(10, sizes.id), status=D))
    await shop.catalog.replace_option_set(sizes.id, OptionSetInput(tee.id, "Size", (Option("M", "Medium"),)))
    with pytest.raises(DefinitionOutOfDate) as caught:
        await shop.catalog.publish_template(draft.id)
    assert [(v.field, v.code, v.zone_id) for v in caught.value.violations] == [
        ("definition.zones[2].visible_when.in[0]", "unknown_option", "note")
    ]
    assert shop.store.templates[draft.id].status is D


async def test_a_retired_version_keeps_its_sessions_going(shop: Shop) -> None:
    tee = await shop.catalog.create_product(ProductInput("Tee", "", 1000))
    v1 = await shop.catalog.create_template(TemplateInput(tee.id, 1, definition()))
    v2 = await shop.catalog.create_template(TemplateInput(tee.id, 2, definition(20)))
    started = await shop.customization.start(tee.id, 1, None)
    with pytest.raises(DefaultTemplateRetirement):
        await shop.catalog.retire_template(v1.id)
    await shop.catalog.make_default_template(v2.id)
    await shop.catalog.retire_template(v1.id)
    changed = await shop.customization.update(
        started.session.id, started.session_key, {"line": {"text": "Hi"}}
    )
    assert changed.session.template_id == v1.id
    assert changed.quote.unit_price == 1000
    with pytest.raises(InvalidInput):
        await shop.customization.start(tee.id, 1, started.session_key)
    again = await shop.catalog.publish_template(v1.id)  # brought back: sessions may start on it again
    assert (again.status, again.is_default) == (P, False)
    assert (await shop.customization.start(tee.id, 1, started.session_key)).session.template_id == v1.id
