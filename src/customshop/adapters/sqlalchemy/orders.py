"""Orders, payments, stock levels, idempotency keys and webhook receipts, in SQLAlchemy Core.

Stock movements are single conditional ``UPDATE`` statements: the database checks and changes a
level in one step, so concurrent checkouts never oversell, and on PostgreSQL each one takes the row
lock of the levels it touches in the order it is given them (sorted keys), which keeps concurrent
reservations of overlapping carts from deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.cart import components_json
from customshop.adapters.sqlalchemy.purge import BEFORE, LIMIT, batch_delete, count, cutoff
from customshop.adapters.sqlalchemy.repositories import _guarded
from customshop.application.ports import IdempotencyRecord, Page
from customshop.domain.errors import Conflict
from customshop.domain.inventory import OutOfStock, Shortage, StockInconsistent, StockKey, StockLevel
from customshop.domain.orders import (
    Order,
    OrderLine,
    OrderStatus,
    PrintFile,
    PrintStatus,
    ShippingAddress,
    StockHold,
    StockState,
    TimelineEntry,
)
from customshop.domain.payments import Payment, PaymentStatus
from customshop.domain.pricing import PriceComponent

_O = t.orders.c
_L = t.order_lines.c
_P = t.payments.c
_S = t.stock_levels.c
_I = t.idempotency_keys.c


def _is_postgresql(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


# -- orders ----------------------------------------------------------------------------------------


def _timeline(entries: Iterable[TimelineEntry]) -> list[dict[str, Any]]:
    return [
        {"status": e.status.value, "at": e.at.astimezone(UTC).isoformat(), "note": e.note} for e in entries
    ]


def _holds(holds: Iterable[StockHold]) -> list[dict[str, Any]]:
    return [
        {"product_id": h.key.product_id, "option_code": h.key.option_code, "units": h.units} for h in holds
    ]


def _order_values(order: Order) -> dict[str, Any]:
    """The columns ``update`` writes: everything that changes after checkout (the aggregate's moves,
    the token set once the payment started, the provider a retry may switch to)."""
    return {
        "token_hash": order.token_hash or "",  # the column's "not placed yet" is the empty string
        "status": order.status.value,
        "timeline": _timeline(order.timeline),
        "stock": _holds(order.stock),
        "stock_state": order.stock_state.value,
        "reserved_until": order.reserved_until,
        "payment_provider": order.payment_provider,
        "payment_id": order.payment_id,
        "paid_amount": order.paid_amount,
        "refunded_amount": order.refunded_amount,
        "payment_failure": order.payment_failure,
        "tracking_url": order.tracking_url,
        "paid_at": order.paid_at,
        "updated_at": order.updated_at,
    }


def _line_values(order_id: str, position: int, line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "order_id": order_id,
        "position": position,
        "product_id": line.product_id,
        "product_name": line.product_name,
        "template_id": line.template_id,
        "template_version": line.template_version,
        "template_snapshot": line.template_snapshot,
        "options": line.options,
        "components": components_json(line.components),
        "unit_price": line.unit_price,
        "quantity": line.quantity,
        "print_status": line.print_file.status.value,
        "print_file_id": line.print_file.id,
        "print_error": line.print_file.error,
    }


def _line(row: Sequence[Any]) -> OrderLine:
    (
        id_,
        product_id,
        product_name,
        template_id,
        template_version,
        template_snapshot,
        options,
        components,
        unit_price,
        quantity,
        print_status,
        print_file_id,
        print_error,
    ) = row
    return OrderLine(
        id=id_,
        product_id=product_id,
        product_name=product_name,
        template_id=template_id,
        template_version=template_version,
        template_snapshot=template_snapshot,
        options=options,
        components=tuple(PriceComponent(**c) for c in components),
        unit_price=unit_price,
        quantity=quantity,
        print_file=PrintFile(PrintStatus(print_status), print_file_id, print_error),
    )


def _order(row: Sequence[Any], lines: tuple[OrderLine, ...]) -> Order:
    # By position, in the table's column order (see ``repositories._product``).
    (
        id_,
        guest,
        token_hash,
        email,
        shipping_address,
        currency,
        subtotal,
        tax,
        shipping,
        total,
        status,
        timeline,
        stock,
        stock_state,
        reserved_until,
        payment_provider,
        payment_id,
        paid_amount,
        refunded_amount,
        payment_failure,
        tracking_url,
        paid_at,
        created_at,
        updated_at,
    ) = row
    return Order(
        id=id_,
        guest=guest,
        token_hash=token_hash or None,
        email=email,
        shipping_address=ShippingAddress(
            name=shipping_address["name"],
            line1=shipping_address["line1"],
            city=shipping_address["city"],
            postal_code=shipping_address["postal_code"],
            country=shipping_address["country"],
            line2=shipping_address.get("line2"),
        ),
        lines=lines,
        currency=currency,
        subtotal=subtotal,
        tax=tax,
        shipping=shipping,
        total=total,
        status=OrderStatus(status),
        timeline=tuple(
            TimelineEntry(OrderStatus(e["status"]), datetime.fromisoformat(e["at"]), e.get("note"))
            for e in timeline
        ),
        stock=tuple(StockHold(StockKey(h["product_id"], h.get("option_code")), h["units"]) for h in stock),
        stock_state=StockState(stock_state),
        reserved_until=reserved_until,
        payment_provider=payment_provider,
        payment_id=payment_id,
        paid_amount=paid_amount,
        refunded_amount=refunded_amount,
        payment_failure=payment_failure,
        tracking_url=tracking_url,
        created_at=created_at,
        updated_at=updated_at,
        paid_at=paid_at,
    )


#: Statements built once (building one costs more than running it).
_LINE_COLUMNS = (
    _L.id,
    _L.product_id,
    _L.product_name,
    _L.template_id,
    _L.template_version,
    _L.template_snapshot,
    _L.options,
    _L.components,
    _L.unit_price,
    _L.quantity,
    _L.print_status,
    _L.print_file_id,
    _L.print_error,
)
_GET_ORDER = sa.select(t.orders).where(_O.id == sa.bindparam("order_id"))
_GET_ORDER_FOR_UPDATE = _GET_ORDER.with_for_update()  # SQLite has no row locks and ignores it
_LOCK_ORDER = sa.select(_O.status).where(_O.id == sa.bindparam("order_id")).with_for_update()
_ORDER_LINES = sa.select(*_LINE_COLUMNS).where(_L.order_id == sa.bindparam("order_id")).order_by(_L.position)
_LINES_OF_ORDERS = (
    sa.select(_L.order_id, *_LINE_COLUMNS)
    .where(_L.order_id.in_(sa.bindparam("order_ids", expanding=True)))
    .order_by(_L.order_id, _L.position)
)
_INSERT_ORDER = t.orders.insert()
_INSERT_LINES = t.order_lines.insert()
_UPDATE_ORDER = t.orders.update().where(_O.id == sa.bindparam("order_id"))
_UPDATE_ORDER_IF = _UPDATE_ORDER.where(_O.status == sa.bindparam("if_status"))
_DELETE_ORDER_PAYMENTS = t.payments.delete().where(_P.order_id == sa.bindparam("order_id"))
_DELETE_ORDER_LINES = t.order_lines.delete().where(_L.order_id == sa.bindparam("order_id"))
_DELETE_ORDER = t.orders.delete().where(_O.id == sa.bindparam("order_id"))
_EXPIRED = (
    sa.select(_O.id)
    .where(_O.status == OrderStatus.CREATED.value, _O.reserved_until < sa.bindparam("now"))
    .order_by(_O.id)
    .limit(sa.bindparam("limit"))
)


@cache
def _order_page(status: bool, created_from: bool, created_to: bool, before: bool) -> sa.Select[Any]:
    """The listing for one combination of filters (sixteen shapes at most, each built once)."""
    query = sa.select(t.orders).order_by(_O.id.desc()).limit(sa.bindparam("limit"))
    if status:
        query = query.where(_O.status == sa.bindparam("status"))
    if created_from:
        query = query.where(_O.created_at >= sa.bindparam("created_from"))
    if created_to:
        query = query.where(_O.created_at < sa.bindparam("created_to"))
    if before:
        query = query.where(_O.id < sa.bindparam("before"))
    return query


class SqlOrderRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        #: The orders stored by ``add`` and ``update``, whose events the unit of work takes at commit.
        self.seen: list[Order] = []

    async def add(self, order: Order) -> None:
        await self._conn.execute(
            _INSERT_ORDER,
            {
                "id": order.id,
                "guest": order.guest,
                "email": order.email,
                "shipping_address": order.shipping_address.to_dict(),
                "currency": order.currency,
                "subtotal": order.subtotal,
                "tax": order.tax,
                "shipping": order.shipping,
                "total": order.total,
                "created_at": order.created_at,
                **_order_values(order),
            },
        )
        if order.lines:
            await self._conn.execute(
                _INSERT_LINES, [_line_values(order.id, n, line) for n, line in enumerate(order.lines)]
            )
        self.seen.append(order)

    async def get(self, order_id: str, *, for_update: bool = False) -> Order | None:
        query = _GET_ORDER_FOR_UPDATE if for_update else _GET_ORDER
        row = (await self._conn.execute(query, {"order_id": order_id})).first()
        if row is None:
            return None
        lines = await self._conn.execute(_ORDER_LINES, {"order_id": order_id})
        return _order(row, tuple(_line(line) for line in lines))

    async def lock(self, order_id: str) -> OrderStatus | None:
        status = await self._conn.scalar(_LOCK_ORDER, {"order_id": order_id})
        return None if status is None else OrderStatus(status)

    async def update(self, order: Order, *, if_status: OrderStatus | None = None) -> bool:
        params = {"order_id": order.id, **_order_values(order)}
        if if_status is None:
            changed = await self._conn.execute(_UPDATE_ORDER, params)
        else:
            changed = await self._conn.execute(_UPDATE_ORDER_IF, {**params, "if_status": if_status.value})
        if changed.rowcount:
            self.seen.append(order)
        return bool(changed.rowcount)

    async def delete(self, order_id: str) -> None:
        params = {"order_id": order_id}
        await self._conn.execute(_DELETE_ORDER_PAYMENTS, params)
        await self._conn.execute(_DELETE_ORDER_LINES, params)
        await self._conn.execute(_DELETE_ORDER, params)
        self.seen = [o for o in self.seen if o.id != order_id]

    async def expired(self, now: datetime, limit: int) -> list[str]:
        return list(await self._conn.scalars(_EXPIRED, {"now": now, "limit": limit}))

    async def list(
        self,
        *,
        status: OrderStatus | None,
        created_from: datetime | None,
        created_to: datetime | None,
        before: str | None,
        limit: int,
    ) -> Page[Order]:
        query = _order_page(
            status is not None, created_from is not None, created_to is not None, before is not None
        )
        params: dict[str, Any] = {"limit": limit + 1}
        if status is not None:
            params["status"] = status.value
        if created_from is not None:
            params["created_from"] = created_from
        if created_to is not None:
            params["created_to"] = created_to
        if before is not None:
            params["before"] = before
        rows = list(await self._conn.execute(query, params))
        next_after = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_after = rows[-1][0] if rows else None
        if not rows:
            return Page([], next_after)
        lines: dict[str, list[OrderLine]] = {row[0]: [] for row in rows}
        for line in await self._conn.execute(_LINES_OF_ORDERS, {"order_ids": list(lines)}):
            lines[line[0]].append(_line(line[1:]))
        return Page([_order(row, tuple(lines[row[0]])) for row in rows], next_after)


# -- payments --------------------------------------------------------------------------------------


def _payment(row: Sequence[Any]) -> Payment:
    (
        id_,
        order_id,
        provider,
        reference,
        status,
        amount,
        currency,
        client_secret,
        approval_url,
        payment_url,
        failure,
        created_at,
        updated_at,
    ) = row
    return Payment(
        id=id_,
        order_id=order_id,
        provider=provider,
        reference=reference,
        status=PaymentStatus(status),
        amount=amount,
        currency=currency,
        client_secret=client_secret,
        approval_url=approval_url,
        payment_url=payment_url,
        failure=failure,
        created_at=created_at,
        updated_at=updated_at,
    )


def _payment_values(payment: Payment) -> dict[str, Any]:
    return {
        "order_id": payment.order_id,
        "provider": payment.provider,
        "reference": payment.reference,
        "status": payment.status.value,
        "amount": payment.amount,
        "currency": payment.currency,
        "client_secret": payment.client_secret,
        "approval_url": payment.approval_url,
        "payment_url": payment.payment_url,
        "failure": payment.failure,
        "created_at": payment.created_at,
        "updated_at": payment.updated_at,
    }


_GET_PAYMENT = sa.select(t.payments).where(_P.id == sa.bindparam("payment_id"))
_PAYMENT_BY_REFERENCE = sa.select(t.payments).where(
    _P.provider == sa.bindparam("provider"), _P.reference == sa.bindparam("reference")
)
_INSERT_PAYMENT = t.payments.insert()
_UPDATE_PAYMENT = t.payments.update().where(_P.id == sa.bindparam("payment_id"))
_OTHER = t.payments.alias("other")
#: An update that refuses to give a payment a reference another payment of its provider holds, by
#: changing no row, so the common case needs no savepoint (a unique violation would abort the
#: transaction on PostgreSQL). Only two transactions racing for one reference meet the index.
_UPDATE_PAYMENT_UNLESS_TAKEN = _UPDATE_PAYMENT.where(
    ~sa.exists().where(
        _OTHER.c.provider == sa.bindparam("taken_provider"),
        _OTHER.c.reference == sa.bindparam("taken_reference"),
        _OTHER.c.id != sa.bindparam("payment_id"),
    )
)
_PAYMENT_EXISTS = sa.select(_P.id).where(_P.id == sa.bindparam("payment_id"))


def _duplicate_reference(payment: Payment) -> Conflict:
    return Conflict(f"another {payment.provider} payment already has the reference {payment.reference!r}")


class SqlPaymentRepository:
    """``add`` and ``update`` raise ``Conflict`` when another payment of the provider has the same
    reference (the unit of work goes on)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, payment: Payment) -> None:
        await self._write(_INSERT_PAYMENT, payment, {"id": payment.id, **_payment_values(payment)})

    async def get(self, payment_id: str) -> Payment | None:
        row = (await self._conn.execute(_GET_PAYMENT, {"payment_id": payment_id})).first()
        return _payment(row) if row else None

    async def by_reference(self, provider: str, reference: str) -> Payment | None:
        row = (
            await self._conn.execute(_PAYMENT_BY_REFERENCE, {"provider": provider, "reference": reference})
        ).first()
        return _payment(row) if row else None

    async def update(self, payment: Payment) -> None:
        params = {"payment_id": payment.id, **_payment_values(payment)}
        if payment.reference is None:
            await self._conn.execute(_UPDATE_PAYMENT, params)
            return
        try:
            changed = await self._conn.execute(
                _UPDATE_PAYMENT_UNLESS_TAKEN,
                {**params, "taken_provider": payment.provider, "taken_reference": payment.reference},
            )
        except IntegrityError:
            raise _duplicate_reference(payment) from None
        if not changed.rowcount and await self._conn.scalar(_PAYMENT_EXISTS, {"payment_id": payment.id}):
            raise _duplicate_reference(payment)

    async def _write(self, statement: sa.Executable, payment: Payment, params: dict[str, Any]) -> None:
        if payment.reference is None:  # NULL references never clash: no savepoint needed
            await self._conn.execute(statement, params)
            return
        try:
            async with _guarded(self._conn):
                await self._conn.execute(statement, params)
        except IntegrityError:
            raise _duplicate_reference(payment) from None


# -- stock levels ----------------------------------------------------------------------------------

#: The product's own level is stored under the option code ``''``.
_PRODUCT_ITSELF = ""


def _key_params(key: StockKey) -> dict[str, Any]:
    return {"key_product": key.product_id, "key_option": key.option_code or _PRODUCT_ITSELF}


def _level(row: Sequence[Any]) -> StockLevel:
    product_id, option_code, on_hand, reserved, sold, updated_at = row
    return StockLevel(StockKey(product_id, option_code or None), on_hand, reserved, sold, updated_at)


_UNITS = sa.bindparam("units", type_=sa.BigInteger)
_AT = sa.bindparam("at", type_=t.Timestamp)
_THIS_LEVEL = sa.and_(
    _S.product_id == sa.bindparam("key_product"), _S.option_code == sa.bindparam("key_option")
)

_GET_LEVEL = sa.select(t.stock_levels).where(_THIS_LEVEL)
_GET_LEVEL_LOCKED = _GET_LEVEL.with_for_update()
_AVAILABLE = sa.select(_S.on_hand - _S.reserved).where(_THIS_LEVEL)
#: Which levels the products of a checkout have: one round trip, and none per unlimited key.
_LEVEL_KEYS = sa.select(_S.product_id, _S.option_code).where(
    _S.product_id.in_(sa.bindparam("product_ids", expanding=True))
)


def _save_level(insert: postgresql.Insert | sqlite.Insert) -> sa.Insert:
    """Create or replace: an operator's count overwrites the whole level."""
    replaced = ("on_hand", "reserved", "sold", "updated_at")
    return insert.on_conflict_do_update(
        index_elements=[_S.product_id, _S.option_code], set_={c: insert.excluded[c] for c in replaced}
    )


_SAVE_LEVEL = {
    "postgresql": _save_level(postgresql.insert(t.stock_levels)),
    "sqlite": _save_level(sqlite.insert(t.stock_levels)),
}
#: Each movement checks and changes the level in one statement; no row changed means it could not.
_RESERVE = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.on_hand - _S.reserved >= _UNITS)
    .values(reserved=_S.reserved + _UNITS, updated_at=_AT)
)
_RELEASE = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.reserved >= _UNITS)
    .values(reserved=_S.reserved - _UNITS, updated_at=_AT)
)
_COMMIT = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.reserved >= _UNITS)
    .values(on_hand=_S.on_hand - _UNITS, reserved=_S.reserved - _UNITS, sold=_S.sold + _UNITS, updated_at=_AT)
)
_RESTOCK = (
    t.stock_levels.update()
    .where(_THIS_LEVEL, _S.sold >= _UNITS)
    .values(on_hand=_S.on_hand + _UNITS, sold=_S.sold - _UNITS, updated_at=_AT)
)


def _level_page(collate: bool, product: bool, after: bool) -> sa.Select[Any]:
    key: tuple[sa.ColumnElement[str], sa.ColumnElement[str]] = (_S.product_id, _S.option_code)
    if collate:
        # Code point order, as ``StockKey.sort_key`` sorts, whatever the database's collation.
        key = (_S.product_id.collate("C"), _S.option_code.collate("C"))
    query = sa.select(t.stock_levels).order_by(*key).limit(sa.bindparam("limit"))
    if product:
        query = query.where(_S.product_id == sa.bindparam("product_id"))
    if after:
        query = query.where(
            sa.tuple_(*key) > sa.tuple_(sa.bindparam("after_product"), sa.bindparam("after_option"))
        )
    return query


_LEVEL_PAGES = {
    (dialect, product, after): _level_page(dialect == "postgresql", product, after)
    for dialect in ("postgresql", "sqlite")
    for product in (True, False)
    for after in (True, False)
}


class SqlInventoryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._dialect = "postgresql" if _is_postgresql(conn) else "sqlite"

    async def get(self, key: StockKey, *, for_update: bool = False) -> StockLevel | None:
        statement = _GET_LEVEL_LOCKED if for_update else _GET_LEVEL
        row = (await self._conn.execute(statement, _key_params(key))).first()
        return _level(row) if row else None

    async def save(self, level: StockLevel) -> None:
        await self._conn.execute(
            _SAVE_LEVEL[self._dialect],
            {
                "product_id": level.key.product_id,
                "option_code": level.key.option_code or _PRODUCT_ITSELF,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "sold": level.sold,
                "updated_at": level.updated_at,
            },
        )

    async def list(self, *, product_id: str | None, after: StockKey | None, limit: int) -> list[StockLevel]:
        query = _LEVEL_PAGES[(self._dialect, product_id is not None, after is not None)]
        params: dict[str, Any] = {"limit": limit}
        if product_id is not None:
            params["product_id"] = product_id
        if after is not None:
            params["after_product"], params["after_option"] = after.sort_key
        return [_level(row) for row in await self._conn.execute(query, params)]

    async def holds_for(self, wanted: Mapping[StockKey, int]) -> tuple[StockHold, ...]:
        if not wanted:
            return ()
        product_ids = sorted({key.product_id for key in wanted})
        levels = {(p, c) for p, c in await self._conn.execute(_LEVEL_KEYS, {"product_ids": product_ids})}
        return tuple(
            StockHold(key, units)
            for key, units in wanted.items()
            if (key.product_id, key.option_code or _PRODUCT_ITSELF) in levels
        )

    async def reserve_holds(self, holds: Iterable[StockHold], at: datetime) -> None:
        shortages: list[Shortage] = []
        for hold in holds:
            params = _key_params(hold.key)
            if shortages:  # the reservation has failed: only find out which other levels are short
                available = await self._conn.scalar(_AVAILABLE, params)
                if available is not None and hold.units > available:
                    shortages.append(Shortage(hold.key, hold.units, available))
                continue
            while True:
                changed = await self._conn.execute(_RESERVE, {**params, "units": hold.units, "at": at})
                if changed.rowcount:
                    break
                available = await self._conn.scalar(_AVAILABLE, params)
                if available is None:
                    raise StockInconsistent(f"{hold.key.label}: the stock level is gone")
                if hold.units > available:
                    shortages.append(Shortage(hold.key, hold.units, available))
                    break
                # Units came back (a concurrent release committed) between the two statements.
        if shortages:
            raise OutOfStock(shortages)

    async def release(self, holds: Iterable[StockHold], at: datetime) -> None:
        await self._move(_RELEASE, holds, at, "reserved")

    async def commit(self, holds: Iterable[StockHold], at: datetime) -> None:
        await self._move(_COMMIT, holds, at, "reserved")

    async def restock(self, holds: Iterable[StockHold], at: datetime) -> None:
        await self._move(_RESTOCK, holds, at, "sold")

    async def _move(self, statement: sa.Update, holds: Iterable[StockHold], at: datetime, what: str) -> None:
        for hold in holds:
            if hold.units >= 0:
                changed = await self._conn.execute(
                    statement, {**_key_params(hold.key), "units": hold.units, "at": at}
                )
                if changed.rowcount:
                    continue
            level = await self.get(hold.key)
            have = "no stock level" if level is None else f"{getattr(level, what)} are {what}"
            raise StockInconsistent(f"{hold.key.label}: cannot move {hold.units} units, {have}")


# -- idempotency keys ------------------------------------------------------------------------------


def _record(row: Sequence[Any]) -> IdempotencyRecord:
    scope, key, request_hash, order_id, result, created_at, updated_at = row
    return IdempotencyRecord(scope, key, request_hash, order_id, result, created_at, updated_at)


def _record_values(record: IdempotencyRecord) -> dict[str, Any]:
    return {
        "request_hash": record.request_hash,
        "order_id": record.order_id,
        "result": record.result,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


_THIS_RECORD = sa.and_(_I.scope == sa.bindparam("record_scope"), _I.key == sa.bindparam("record_key"))


def _insert_if_new(insert: postgresql.Insert | sqlite.Insert, *key: sa.Column[Any]) -> sa.Executable:
    """``INSERT ... ON CONFLICT DO NOTHING``; its ``rowcount`` says whether a row was inserted (kept
    for an INSERT only when asked)."""
    return insert.on_conflict_do_nothing(index_elements=key).execution_options(preserve_rowcount=True)


_CLAIM = {
    "postgresql": _insert_if_new(postgresql.insert(t.idempotency_keys), _I.scope, _I.key),
    "sqlite": _insert_if_new(sqlite.insert(t.idempotency_keys), _I.scope, _I.key),
}
_GET_RECORD = sa.select(t.idempotency_keys).where(_THIS_RECORD)
_TAKE_OVER = (
    t.idempotency_keys.update()
    .where(_THIS_RECORD, _I.result.is_(None), _I.updated_at < sa.bindparam("stale_before"))
    .values(updated_at=sa.bindparam("at"))
)
_UPDATE_RECORD = t.idempotency_keys.update().where(_THIS_RECORD)
_DELETE_RECORD = t.idempotency_keys.delete().where(_THIS_RECORD)
_PURGE_RECORDS = t.idempotency_keys.delete().where(_I.created_at < sa.bindparam("created_before"))
_CREATED_BEFORE = (_I.created_at < cutoff(),)
_PURGE_RECORD_BATCH = batch_delete(t.idempotency_keys, (_I.scope, _I.key), *_CREATED_BEFORE)
_COUNT_PURGEABLE_RECORDS = count(t.idempotency_keys, *_CREATED_BEFORE)


class SqlIdempotencyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._claim = _CLAIM["postgresql" if _is_postgresql(conn) else "sqlite"]

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        params = {"scope": record.scope, "key": record.key, **_record_values(record)}
        while True:
            # On PostgreSQL a concurrent claim of the key waits here for the other to commit.
            if (await self._conn.execute(self._claim, params)).rowcount:
                return None
            existing = await self.get(record.scope, record.key)
            if existing is not None:
                return existing
            # The holder was deleted between the two statements: try again.

    async def get(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = (await self._conn.execute(_GET_RECORD, {"record_scope": scope, "record_key": key})).first()
        return _record(row) if row else None

    async def take_over(self, scope: str, key: str, stale_before: datetime, at: datetime) -> bool:
        changed = await self._conn.execute(
            _TAKE_OVER, {"record_scope": scope, "record_key": key, "stale_before": stale_before, "at": at}
        )
        return bool(changed.rowcount)

    async def update(self, record: IdempotencyRecord) -> None:
        await self._conn.execute(
            _UPDATE_RECORD, {"record_scope": record.scope, "record_key": record.key, **_record_values(record)}
        )

    async def delete(self, scope: str, key: str) -> None:
        await self._conn.execute(_DELETE_RECORD, {"record_scope": scope, "record_key": key})

    async def purge(self, created_before: datetime, limit: int | None = None) -> int:
        if limit is None:
            deleted = await self._conn.execute(_PURGE_RECORDS, {"created_before": created_before})
        else:
            deleted = await self._conn.execute(_PURGE_RECORD_BATCH, {BEFORE: created_before, LIMIT: limit})
        return int(deleted.rowcount)

    async def count_purgeable(self, created_before: datetime) -> int:
        found = await self._conn.execute(_COUNT_PURGEABLE_RECORDS, {BEFORE: created_before})
        return int(found.scalar_one())


# -- webhook receipts ------------------------------------------------------------------------------

_RECEIPT_KEY = (t.webhook_receipts.c.provider, t.webhook_receipts.c.event_id)
_RECEIVE = {
    "postgresql": _insert_if_new(postgresql.insert(t.webhook_receipts), *_RECEIPT_KEY),
    "sqlite": _insert_if_new(sqlite.insert(t.webhook_receipts), *_RECEIPT_KEY),
}


_PURGE_RECEIPTS = t.webhook_receipts.delete().where(
    t.webhook_receipts.c.received_at < sa.bindparam("before", type_=t.Timestamp)
)


class SqlWebhookReceipts:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._receive = _RECEIVE["postgresql" if _is_postgresql(conn) else "sqlite"]

    async def first_time(self, provider: str, event_id: str, at: datetime) -> bool:
        inserted = await self._conn.execute(
            self._receive, {"provider": provider, "event_id": event_id, "received_at": at}
        )
        return bool(inserted.rowcount)

    async def purge(self, received_before: datetime) -> int:
        deleted = await self._conn.execute(_PURGE_RECEIPTS, {"before": received_before})
        return int(deleted.rowcount)
