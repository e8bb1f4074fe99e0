"""Cart use cases on the in-memory adapters, with a sequence of actions checked as a state machine."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from customshop.adapters.memory import ManualClock, MemoryStore, MemoryUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.cart import Carts
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.application.customization import SESSION_KEY_PREFIX
from customshop.domain.cart import LINES_MAX, CartFull, CartItemNotFound
from customshop.domain.catalog import Option
from customshop.domain.errors import InvalidInput
from customshop.domain.quote import FlatRates
from tests.unit.conftest import issue_keys

KEY = SESSION_KEY_PREFIX + "A" * 43
OTHER = SESSION_KEY_PREFIX + "B" * 43


async def setup(store: MemoryStore, clock: ManualClock) -> tuple[Carts, str]:
    issue_keys(store, KEY, OTHER)
    uow = partial(MemoryUnitOfWork, store)
    catalog = Catalog(uow, clock, UuidV7Ids(), "USD")
    product = await catalog.create_product(ProductInput(name="Mug", description="", base_price=1000))
    sizes = await catalog.create_option_set(
        OptionSetInput(product.id, "Size", tuple(Option(f"s{n}", f"S{n}", n * 100) for n in range(60)))
    )
    definition = {
        "canvas": {"width": 10, "height": 10},
        "zones": [{"id": "size", "type": "option", "option_set_id": sizes.id, "required": True}],
    }
    await catalog.create_template(TemplateInput(product.id, 1, definition))
    return Carts(uow, clock, UuidV7Ids(), FlatRates(1000, 500, 100), "USD"), product.id


def run(coro: Any) -> Any:
    return asyncio.run(coro)


class CartMachine(RuleBasedStateMachine):
    """Any sequence of adds, changes and removals keeps the cart equal to a simple model, and its
    totals consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.store = MemoryStore()
        self.carts, self.product = run(setup(self.store, ManualClock()))
        self.model: dict[str, int] = {}  # size code -> quantity
        self.ids: dict[str, str] = {}  # size code -> item id

    @rule(size=st.integers(0, 5), quantity=st.integers(1, 99))
    def add(self, size: int, quantity: int) -> None:
        code = f"s{size}"
        try:
            view = run(self.carts.add_design(KEY, self.product, {"size": code}, quantity))
        except InvalidInput:
            assert self.model.get(code, 0) + quantity > 99
            return
        self.model[code] = self.model.get(code, 0) + quantity
        self.ids[code] = next(line.id for line in view.lines if line.options == {"size": code})

    @rule(size=st.integers(0, 5), quantity=st.integers(-5, 120))
    def change(self, size: int, quantity: int) -> None:
        code = f"s{size}"
        if code not in self.model:
            with pytest.raises(CartItemNotFound):
                run(self.carts.change_quantity(KEY, self.ids.get(code, "missing"), 1))
            return
        if 1 <= quantity <= 99:
            run(self.carts.change_quantity(KEY, self.ids[code], quantity))
            self.model[code] = quantity
        else:
            with pytest.raises(InvalidInput):
                run(self.carts.change_quantity(KEY, self.ids[code], quantity))

    @rule(size=st.integers(0, 5))
    def remove(self, size: int) -> None:
        code = f"s{size}"
        if code in self.model:
            run(self.carts.remove(KEY, self.ids.pop(code)))
            del self.model[code]

    @rule(size=st.integers(0, 5))
    def stranger_cannot_touch(self, size: int) -> None:
        code = f"s{size}"
        if code in self.ids:
            with pytest.raises(CartItemNotFound):
                run(self.carts.remove(OTHER, self.ids[code]))

    @invariant()
    def cart_matches_the_model(self) -> None:
        view = run(self.carts.view(KEY))
        assert {line.options["size"]: line.quantity for line in view.lines} == self.model
        subtotal = sum((1000 + int(code[1:]) * 100) * q for code, q in self.model.items())
        units = sum(self.model.values())
        shipping = 500 + 100 * (units - 1) if units else 0
        tax = (subtotal + 5) // 10  # 10 %, rounded half up
        quote = view.quote.quote
        assert (quote.subtotal, quote.tax, quote.shipping) == (subtotal, tax, shipping)
        assert quote.total == subtotal + tax + shipping
        assert run(self.carts.view(OTHER)).lines == []


CartMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=20, deadline=None)
TestCartMachine = CartMachine.TestCase


async def test_a_cart_holds_a_bounded_number_of_lines() -> None:
    carts, product = await setup(MemoryStore(), ManualClock())
    for n in range(LINES_MAX):
        await carts.add_design(KEY, product, {"size": f"s{n}"}, 1)
    with pytest.raises(CartFull):
        await carts.add_design(KEY, product, {"size": f"s{LINES_MAX}"}, 1)
    assert len((await carts.view(KEY)).lines) == LINES_MAX


async def test_a_guest_without_a_key_gets_one_with_its_first_line() -> None:
    carts, product = await setup(MemoryStore(), ManualClock())
    view = await carts.add_design(None, product, {"size": "s1"}, 2)
    assert view.session_key is not None
    assert view.session_key.startswith(SESSION_KEY_PREFIX)
    assert [line.quantity for line in (await carts.view(view.session_key)).lines] == [2]
    again = await carts.add_design(view.session_key, product, {"size": "s1"}, 1)
    assert again.session_key is None
