"""The order lifecycle in the domain: any sequence of placements, payments, operator moves,
cancellations, refunds and expiries keeps the timeline, the money and the stock consistent; plus
properties of the transition table, of stock demand and of contact checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, multiple, rule

from customshop.domain.events import (
    OrderCancelled,
    OrderCreated,
    OrderPaid,
    OrderRefunded,
    OrderShipped,
    OrderStatusChanged,
    PaymentFailed,
)
from customshop.domain.inventory import (
    OutOfStock,
    Shortage,
    StockBelowReserved,
    StockKey,
    StockLevel,
    demand,
    new_level,
    reserve_all,
)
from customshop.domain.money import Money
from customshop.domain.orders import (
    ADDRESS_LIMITS,
    OPERATOR_MOVES,
    PAID_STATES,
    TRANSITIONS,
    IllegalTransition,
    Order,
    OrderLine,
    OrderStatus,
    PaymentMismatch,
    PrintFile,
    PrintFilesNotReady,
    PrintStatus,
    ShippingAddress,
    StockHold,
    StockMove,
    StockMovement,
    StockState,
    check_contact,
    check_transition,
    stock_wanted,
)
from customshop.domain.pricing import PriceComponent
from tests.builders import ADDRESS, quoted

S = OrderStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL = timedelta(minutes=30)


def reachable(start: OrderStatus) -> set[OrderStatus]:
    """Every status some sequence of legal moves leads to from ``start`` (``start`` included)."""
    seen = {start}
    todo = [start]
    while todo:
        for target in TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


REACHABLE = reachable(S.CREATED)

# -- the shop's stock: some levels limited, the rest made to order -------------------------------

TEE, MUG, CARD = "tee", "mug", "card"
CODES: dict[str, tuple[str, ...]] = {TEE: ("S", "M", "L"), MUG: ("red", "blue"), CARD: ()}
#: Units stocked at the start; every other key (tee/L, the mug itself, mug/blue, card) is unlimited.
STOCKED = {StockKey(TEE): 6, StockKey(TEE, "S"): 3, StockKey(TEE, "M"): 2, StockKey(MUG, "red"): 2}

line_specs = st.sampled_from(sorted(CODES)).flatmap(
    lambda product: st.tuples(
        st.just(product),
        st.lists(st.sampled_from(CODES[product]), max_size=2) if CODES[product] else st.just([]),
        st.integers(1, 3),
        st.integers(0, 5_000),
    )
)


def order_line(n: int, product: str, codes: list[str], quantity: int, unit_price: int) -> OrderLine:
    return OrderLine(
        id=f"line-{n}",
        product_id=product,
        product_name=product.title(),
        template_id=f"{product}-template",
        template_version=1,
        template_snapshot={},
        options={},
        components=tuple(PriceComponent(f"zone{i}", code, code.upper(), 0) for i, code in enumerate(codes)),
        unit_price=unit_price,
        quantity=quantity,
    )


def snapshot(order: Order) -> dict[str, Any]:
    """Every field of the order, events included (as they were)."""
    taken = {f.name: getattr(order, f.name) for f in fields(order)}
    taken["events"] = tuple(order.events)
    return taken


@dataclass
class Seen:
    """What the invariants last saw of an order, to check that history only grows."""

    timeline: tuple[Any, ...]
    events: tuple[Any, ...]


class OrderLifecycle(RuleBasedStateMachine):
    """Orders placed against shared stock levels, moved by every path there is, legal or not.

    The model keeps, per order, where its units should stand (``fate``); the stock levels are moved
    the way the application moves them (reserve on placement, commit on payment, release on
    cancellation, restock on a refund straight from ``paid``)."""

    orders = Bundle("orders")

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.levels: dict[StockKey, StockLevel] = {key: new_level(key, n, T0) for key, n in STOCKED.items()}
        self.stocked = dict(STOCKED)
        self.placed: list[Order] = []
        self.fate: dict[str, StockState] = {}
        self.seen: dict[str, Seen] = {}
        self.serial = 0

    def _next(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def _refused(self, order: Order, error: type[Exception], move: Any) -> None:
        """``move`` raises ``error`` and changes neither the order nor the stock."""
        before, levels = snapshot(order), dict(self.levels)
        with pytest.raises(error):
            move()
        assert snapshot(order) == before
        assert self.levels == levels

    def _move_stock(self, order: Order, movement: StockMovement | None, how: StockMove | None) -> None:
        """Apply the stock movement a move returned, after checking it is the one expected."""
        if how is None:
            assert movement is None
            return
        assert movement == StockMovement(how, order.stock)
        for hold in movement.holds:
            self.levels[hold.key] = getattr(self.levels[hold.key], how.value)(hold.units, self.now)

    # -- placing -----------------------------------------------------------------------------------

    @rule(
        target=orders,
        specs=st.lists(line_specs, min_size=1, max_size=3),
        tax=st.integers(0, 500),
        shipping=st.integers(0, 900),
    )
    def place(self, specs: list[tuple[str, list[str], int, int]], tax: int, shipping: int) -> Any:
        lines = tuple(order_line(n, *spec) for n, spec in enumerate(specs))
        wanted = stock_wanted(lines)
        before = dict(self.levels)
        limited = {key: self.levels[key] for key in wanted if key in self.levels}
        shortages: tuple[Shortage, ...] = ()
        try:
            reserved = reserve_all(limited, wanted, self.now)
        except OutOfStock as exc:
            shortages = exc.shortages
        if shortages:
            short = {
                key for key, units in wanted.items() if key in limited and units > limited[key].available
            }
            assert {s.key for s in shortages} == short
            assert all(
                (s.wanted, s.available) == (wanted[s.key], limited[s.key].available) for s in shortages
            )
            assert self.levels == before
            return multiple()
        assert set(reserved) == set(limited)  # unlimited keys are not held
        for key, level in reserved.items():
            assert (level.on_hand, level.reserved, level.sold) == (
                before[key].on_hand,
                before[key].reserved + wanted[key],
                before[key].sold,
            )
        self.levels.update(reserved)
        order = Order.place(
            id=self._next("order"),
            guest="guest",
            email="ada@example.com",
            shipping_address=ADDRESS,
            lines=lines,
            quote=quoted(lines, tax=tax, shipping=shipping),
            stock=tuple(StockHold(key, wanted[key]) for key in reserved),
            reserved_until=self.now + TTL,
            payment_provider="test",
            payment_id=self._next("payment"),
            at=self.now,
        )
        assert order.status is S.CREATED and order.stock_state is StockState.RESERVED
        assert not order.is_placed and order.token_hash is None
        assert order.total == order.subtotal + Money(tax + shipping, "USD")
        assert [(e.status, e.at) for e in order.timeline] == [(S.CREATED, self.now)]
        self.placed.append(order)
        self.fate[order.id] = StockState.RESERVED
        self.seen[order.id] = Seen(order.timeline, tuple(order.events))
        return order

    @rule(seconds=st.integers(0, 3_600))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(key=st.sampled_from(sorted(STOCKED, key=lambda k: k.sort_key)), on_hand=st.integers(0, 8))
    def count_stock(self, key: StockKey, on_hand: int) -> None:
        level = self.levels[key]
        if on_hand < level.reserved:
            with pytest.raises(StockBelowReserved):
                level.set_on_hand(on_hand, self.now)
            return
        self.levels[key] = level.set_on_hand(on_hand, self.now)
        self.stocked[key] = on_hand + level.sold

    # -- payment -----------------------------------------------------------------------------------

    def _pay(self, order: Order) -> None:
        payment_id = self._next("payment")
        sale = order.mark_paid(payment_id, order.total.amount, order.currency, self.now)
        self._move_stock(order, sale, StockMove.COMMIT)
        self.fate[order.id] = StockState.COMMITTED
        assert (order.status, order.payment_id, order.paid_amount) == (S.PAID, payment_id, order.total)
        assert order.paid_at == self.now and order.reserved_until is None and order.payment_failure is None
        assert isinstance(order.events[-1], OrderPaid) and order.events[-1].amount == order.total.amount

    @rule(order=orders)
    def pay(self, order: Order) -> None:
        if order.status is not S.CREATED:
            self._refused(
                order, IllegalTransition, lambda: order.mark_paid("late", order.total.amount, "USD", self.now)
            )
            return
        self._pay(order)

    @rule(order=orders, off_by=st.integers(-1_000, 1_000).filter(bool), wrong_currency=st.booleans())
    def pay_wrong_amount(self, order: Order, off_by: int, wrong_currency: bool) -> None:
        amount, currency = (
            (order.total.amount, "EUR") if wrong_currency else (order.total.amount + off_by, order.currency)
        )
        error = PaymentMismatch if order.status is S.CREATED else IllegalTransition
        self._refused(order, error, lambda: order.mark_paid("wrong", amount, currency, self.now))

    @rule(order=orders, reason=st.sampled_from(["card declined", "insufficient funds"]))
    def payment_fails(self, order: Order, reason: str) -> None:
        if order.status is not S.CREATED:
            before = snapshot(order)
            order.payment_failed(reason, self.now)  # a late report of a payment that no longer matters
            assert snapshot(order) == before
            return
        status, timeline = order.status, order.timeline
        order.payment_failed(reason, self.now)
        assert (order.status, order.timeline, order.payment_failure) == (status, timeline, reason)
        assert order.events[-1] == PaymentFailed(order.id, self.now, reason)

    @rule(order=orders)
    def confirm_placement(self, order: Order) -> None:
        """Checkout's last step: the payment started, the order gets its token (``order.created``)."""
        token_hash = f"hash-{self._next('token')}"
        if order.status is not S.CREATED:
            self._refused(
                order,
                IllegalTransition,
                lambda: order.confirm_placement(token_hash, "late", self.now),
            )
            return
        payment_id = self._next("payment")
        status, timeline = order.status, order.timeline
        order.confirm_placement(token_hash, payment_id, self.now)
        assert order.is_placed and order.token_hash == token_hash
        assert (order.status, order.timeline, order.payment_id) == (status, timeline, payment_id)
        assert order.events[-1] == OrderCreated(order.id, self.now, order.total.amount, order.currency)

    @rule(target=orders, order=consumes(orders))
    def abandon(self, order: Order) -> Any:
        """Checkout undoes an order whose payment never started (only one never placed), and
        deletes it: it takes no further part."""
        if order.status is not S.CREATED or order.is_placed:
            self._refused(order, IllegalTransition, order.abandon)
            return order  # still there
        events = list(order.events)
        release = order.abandon()
        self._move_stock(order, release, StockMove.RELEASE)
        assert order.events == events  # an order nobody saw records nothing
        self.placed.remove(order)
        del self.fate[order.id]
        return multiple()

    @rule(order=orders, provider=st.sampled_from(["test", "stripe", "paypal"]))
    def retry_payment(self, order: Order, provider: str) -> None:
        until = self.now + TTL
        if order.status is not S.CREATED:
            self._refused(
                order, IllegalTransition, lambda: order.restart_payment("retry", provider, until, self.now)
            )
            return
        payment_id = self._next("payment")
        order.restart_payment(payment_id, provider, until, self.now)
        assert (order.status, order.payment_id, order.payment_failure) == (S.CREATED, payment_id, None)
        assert (order.payment_provider, order.reserved_until) == (provider, until)

    # -- operators, cancellation, refunds ----------------------------------------------------------

    def _advance(self, order: Order, tracking: str | None) -> bool:
        """The next operator move along production and delivery, if the table has one."""
        nexts = sorted(TRANSITIONS[order.status] & OPERATOR_MOVES)
        if not nexts:
            return False
        (target,) = nexts
        if target is S.IN_PRODUCTION and not order.prints_ready:
            self._refused(order, PrintFilesNotReady, lambda: order.advance(target, self.now))
            return False
        old_tracking = order.tracking_url
        order.advance(target, self.now, tracking_url=tracking)
        assert order.status is target
        assert order.tracking_url == (tracking if tracking is not None else old_tracking)
        if target is S.SHIPPED:
            assert order.events[-1] == OrderShipped(order.id, self.now, order.tracking_url)
        else:
            assert order.events[-1] == OrderStatusChanged(
                order.id, self.now, order.timeline[-2].status, target
            )
        return True

    @rule(order=orders, tracking=st.none() | st.just("https://track.example/1Z999"))
    def advance(self, order: Order, tracking: str | None) -> None:
        self._advance(order, tracking)

    @rule(order=orders, steps=st.integers(1, 6))
    def happy_path(self, order: Order, steps: int) -> None:
        """Paid if unpaid, its print files made, then moved along by operators: ``steps`` legal
        moves at most."""
        for _ in range(steps):
            if order.status is S.CREATED:
                self._pay(order)
                continue
            if not order.prints_ready:
                self._print(order, [PrintStatus.READY] * len(order.lines))
            if not self._advance(order, f"https://track.example/{order.id}"):
                return

    @rule(order=orders, statuses=st.lists(st.sampled_from(PrintStatus), min_size=3, max_size=3))
    def print_files(self, order: Order, statuses: list[PrintStatus]) -> None:
        """The print files of the order's lines are (re)rendered, successfully or not."""
        self._print(order, statuses)

    def _print(self, order: Order, statuses: list[PrintStatus]) -> None:
        # Print files are kept by the print repository: an order loaded after they were rendered
        # has its lines' files where they stand.
        files = [PrintFile(status, self._next("print"), None) for status in statuses]
        order.lines = tuple(
            replace(line, print_file=files[n]) if n < len(files) else line
            for n, line in enumerate(order.lines)
        )
        assert order.prints_ready == all(
            status is PrintStatus.READY for status in statuses[: len(order.lines)]
        )

    def _cancel(self, order: Order, reason: str) -> None:
        if order.status is not S.CREATED:
            self._refused(order, IllegalTransition, lambda: order.cancel(reason, self.now))
            return
        release = order.cancel(reason, self.now)
        self._move_stock(order, release, StockMove.RELEASE)
        self.fate[order.id] = StockState.RELEASED
        assert (order.status, order.reserved_until) == (S.CANCELLED, None)
        assert order.timeline[-1].note == reason
        assert order.events[-1] == OrderCancelled(order.id, self.now, reason)

    @rule(order=orders, expired=st.booleans())
    def call_off(self, order: Order, expired: bool) -> None:
        """The shop cancels the order, or its reservation runs out and the expiry job does."""
        if not expired:
            self._cancel(order, "cancelled by the shop")
            return
        if (
            order.status is S.CREATED
            and order.reserved_until is not None
            and order.reserved_until >= self.now
        ):
            self.now = order.reserved_until + timedelta(seconds=1)
        self._cancel(order, "payment not received in time")

    @rule(order=orders)
    def refund(self, order: Order) -> None:
        if order.status not in PAID_STATES:
            self._refused(order, IllegalTransition, lambda: order.refund(self.now))
            return
        straight_from_paid = order.status is S.PAID
        refund = order.refund(self.now, note="refunded")
        assert refund.amount == order.paid_amount == order.amount_due
        assert order.refunded_amount == refund.amount
        assert order.events[-1] == OrderRefunded(order.id, self.now, refund.amount.amount, order.currency)
        self._move_stock(order, refund.stock, StockMove.RESTOCK if straight_from_paid else None)
        if straight_from_paid:
            self.fate[order.id] = StockState.RESTOCKED
        # Once: a second refund is refused and moves no money.
        self._refused(order, IllegalTransition, lambda: order.refund(self.now))

    @rule(
        order=orders,
        path=st.sampled_from(["advance", "pay", "cancel", "refund"]),
        to=st.sampled_from(list(OrderStatus)),
    )
    def illegal_move(self, order: Order, path: str, to: OrderStatus) -> None:
        """Any move the table (or the path) does not allow is refused and changes nothing."""
        status = order.status
        moves: dict[str, tuple[bool, Callable[..., object], tuple[object, ...]]] = {
            "advance": (to in OPERATOR_MOVES and to in TRANSITIONS[status], order.advance, (to,)),
            "pay": (status is S.CREATED, order.mark_paid, ("p", order.total.amount, order.currency)),
            "cancel": (status is S.CREATED, order.cancel, ("why",)),
            "refund": (status in PAID_STATES, order.refund, ()),
        }
        legal, move, args = moves[path]
        if legal:
            return
        self._refused(order, IllegalTransition, lambda: move(*args, self.now))

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def every_status_is_reachable_and_every_step_legal(self) -> None:
        for order in self.placed:
            assert order.status in REACHABLE
            steps = [entry.status for entry in order.timeline]
            assert steps[0] is S.CREATED
            assert all(b in TRANSITIONS[a] for a, b in pairwise(steps))

    @invariant()
    def history_only_grows(self) -> None:
        for order in self.placed:
            seen = self.seen[order.id]
            assert order.timeline[: len(seen.timeline)] == seen.timeline
            assert tuple(order.events[: len(seen.events)]) == seen.events
            assert order.timeline[-1].status is order.status
            times = [entry.at for entry in order.timeline]
            assert times == sorted(times)
            assert order.updated_at >= order.timeline[-1].at
            self.seen[order.id] = Seen(order.timeline, tuple(order.events))

    @invariant()
    def money_never_moves_by_more_than_was_paid(self) -> None:
        for order in self.placed:
            assert 0 <= order.refunded_amount.amount <= order.paid_amount.amount
            ever_paid = any(entry.status is S.PAID for entry in order.timeline)
            assert order.paid_amount.amount == (order.total.amount if ever_paid else 0)
            assert order.refunded_amount.amount == (
                order.paid_amount.amount if order.status is S.REFUNDED else 0
            )
            assert order.is_paid == (order.status in PAID_STATES)

    @invariant()
    def stock_is_conserved_and_follows_the_orders(self) -> None:
        reserved: Counter[StockKey] = Counter()
        sold: Counter[StockKey] = Counter()
        for order in self.placed:
            fate = self.fate[order.id]
            assert order.stock_state is fate
            assert (fate is StockState.RESERVED) == (order.status is S.CREATED)
            assert fate is not StockState.RELEASED or order.status is S.CANCELLED
            for hold in order.stock:
                assert hold.key in STOCKED and hold.units > 0
                if fate is StockState.RESERVED:
                    reserved[hold.key] += hold.units
                elif fate is StockState.COMMITTED:
                    sold[hold.key] += hold.units
        assert set(self.levels) == set(STOCKED)
        for key, level in self.levels.items():
            assert min(level.on_hand, level.reserved, level.sold, level.available) >= 0
            assert level.on_hand + level.sold == self.stocked[key]
            assert level.available + level.reserved + level.sold == self.stocked[key]
            assert (level.reserved, level.sold) == (reserved[key], sold[key])


OrderLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=50, deadline=None)
TestOrderLifecycle = OrderLifecycle.TestCase


# -- the transition table ------------------------------------------------------------------------


def test_no_path_leads_back_to_created_and_cancelled_and_refunded_are_final() -> None:
    for status in OrderStatus:
        assert all(S.CREATED not in reachable(target) for target in TRANSITIONS[status])
    assert TRANSITIONS[S.CANCELLED] == TRANSITIONS[S.REFUNDED] == frozenset()
    assert set(OrderStatus) == REACHABLE  # and every status is used


@given(st.sampled_from(list(OrderStatus)), st.sampled_from(list(OrderStatus)))
def test_check_transition_refuses_exactly_what_the_table_leaves_out(
    current: OrderStatus, target: OrderStatus
) -> None:
    if target in TRANSITIONS[current]:
        check_transition(current, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition(current, target)


@given(st.data())
def test_a_walk_through_the_table_never_returns_to_created(data: st.DataObject) -> None:
    status = S.CREATED
    for _ in range(10):
        if not TRANSITIONS[status]:
            assert status in (S.CANCELLED, S.REFUNDED)
            return
        status = data.draw(st.sampled_from(sorted(TRANSITIONS[status])))
        assert status is not S.CREATED


# -- stock demand -----------------------------------------------------------------------------------

demand_lines = st.lists(
    st.tuples(
        st.sampled_from(["b-mug", "a-tee", "c-card"]),
        st.lists(st.sampled_from(["XL", "L", "red"]), max_size=4),
        st.integers(1, 99),
    ),
    max_size=8,
)


@settings(max_examples=100)
@given(demand_lines, st.randoms())
def test_demand_adds_up_lines_per_key_in_sorted_order(
    lines: list[tuple[str, list[str], int]], rnd: Any
) -> None:
    needed = demand(lines)
    expected: Counter[StockKey] = Counter()
    for product, codes, quantity in lines:
        expected[StockKey(product)] += quantity
        for code in codes:  # a code chosen in two zones is needed twice per unit
            expected[StockKey(product, code)] += quantity
    assert needed == dict(expected)
    keys = list(needed)
    assert keys == sorted(keys, key=lambda k: (k.product_id, k.option_code or ""))
    for i, key in enumerate(keys):  # each product's own level comes before its option codes
        if key.option_code is not None:
            assert keys[i - 1].product_id == key.product_id
            assert StockKey(key.product_id) in keys[:i]
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    assert list(demand(shuffled).items()) == list(needed.items())


def test_two_lines_on_the_same_option_code_are_counted_together() -> None:
    lines = (order_line(0, TEE, ["S"], 2, 1000), order_line(1, TEE, ["S", "L"], 2, 1300))
    assert stock_wanted(lines) == {StockKey(TEE): 4, StockKey(TEE, "L"): 2, StockKey(TEE, "S"): 4}
    levels = {StockKey(TEE, "S"): new_level(StockKey(TEE, "S"), 3, T0)}
    with pytest.raises(OutOfStock) as caught:
        reserve_all(levels, stock_wanted(lines), T0)  # 2 + 2 of size S, 3 on the shelf
    assert [(s.key, s.wanted, s.available) for s in caught.value.shortages] == [(StockKey(TEE, "S"), 4, 3)]


# -- contact checks -------------------------------------------------------------------------------

readable = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"))


def words(limit: int) -> st.SearchStrategy[str]:
    return st.text(readable, min_size=1, max_size=min(limit, 24)).filter(str.strip)


emails = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9._%+-]{1,30}", fullmatch=True),
    st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20})?", fullmatch=True),
    st.from_regex(r"[a-z]{2,8}", fullmatch=True),
)
addresses = st.builds(
    ShippingAddress,
    name=words(ADDRESS_LIMITS["name"]),
    line1=words(ADDRESS_LIMITS["line1"]),
    line2=st.none() | st.just("") | words(ADDRESS_LIMITS["line2"]),
    city=words(ADDRESS_LIMITS["city"]),
    postal_code=words(10),
    country=st.from_regex(r"[A-Z]{2}", fullmatch=True),
    subdivision=st.none() | st.from_regex(r"[A-Z0-9]{1,3}", fullmatch=True),
)


@settings(max_examples=100)
@given(emails, addresses)
def test_valid_contact_details_have_no_violations(email: str, address: ShippingAddress) -> None:
    assert check_contact(email, address) == []


control = st.integers(0, 31).map(chr)


#: Fields whose valid values may already be as long as allowed: a control character replaces one.
TIGHT = ("country", "subdivision")


def broken(field: str, value: str) -> st.SearchStrategy[tuple[str, str]]:
    """A broken value for ``field`` (a valid ``value`` made invalid) and the violation code expected."""
    limit = ADDRESS_LIMITS[field]
    ways = [
        st.integers(limit + 1, limit + 30).map(lambda n: ("x" * n, "too_long")),
        # Inserted, or put in place of a character where the length is tight.
        st.tuples(control, st.integers(0, len(value) - 1)).map(
            lambda c: (
                value[: c[1]] + c[0] + value[c[1] + (field in ("country", "subdivision")) :],
                "invalid_character",
            )
        ),
    ]
    if field not in ("line2", "subdivision"):  # an empty second line is no line at all
        ways.append(st.sampled_from(["", " ", " \t "]).map(lambda blank: (blank, "required")))
    if field == "country":
        ways.append(st.sampled_from(["gb", "G1", "Gb", "É1"]).map(lambda bad: (bad, "invalid_format")))
    if field == "subdivision":
        ways.append(st.sampled_from(["ca", "C-A", "", " "]).map(lambda bad: (bad, "invalid_format")))
    return st.one_of(ways)


@settings(max_examples=100)
@given(emails, addresses, st.sampled_from([*ADDRESS_LIMITS, "email"]), st.data())
def test_one_broken_field_gives_one_violation_naming_it(
    email: str, address: ShippingAddress, field: str, data: st.DataObject
) -> None:
    if field == "email":
        bad = data.draw(
            st.sampled_from(
                [
                    email.replace("@", ""),
                    email + ".",
                    "a" * (255 - len(email)) + email,
                    email.replace("@", " @"),
                    email + "\n",
                ]
            )
        )
        assert [(v.field, v.code) for v in check_contact(bad, address)] == [("email", "invalid_format")]
        return
    valid = getattr(address, field) or ("CA" if field == "subdivision" else "Flat 3")
    value, code = data.draw(broken(field, valid))
    changed = ShippingAddress(**{**address.to_dict(), field: value})
    problems = check_contact(email, changed)
    assert [(v.field, v.code) for v in problems] == [(f"shipping_address.{field}", code)]
