"""Payments, in SQLAlchemy Core: one attempt to settle an order through a provider, whose
reference is unique per provider."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from customshop.adapters.sqlalchemy import tables as t
from customshop.adapters.sqlalchemy.sql import Row, guarded
from customshop.domain.errors import Conflict
from customshop.domain.payments import Payment, PaymentStatus

_P = t.payments.c


def _payment(row: Row) -> Payment:
    return Payment(
        id=row.id,
        order_id=row.order_id,
        provider=row.provider,
        reference=row.reference,
        status=PaymentStatus(row.status),
        amount=row.amount,
        currency=row.currency,
        client_secret=row.client_secret,
        approval_url=row.approval_url,
        payment_url=row.payment_url,
        failure=row.failure,
        created_at=row.created_at,
        updated_at=row.updated_at,
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
            async with guarded(self._conn):
                await self._conn.execute(statement, params)
        except IntegrityError:
            raise _duplicate_reference(payment) from None
