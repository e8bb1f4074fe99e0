"""Deleting old rows in batches, the same way for every table the retention purge keeps small.

A batch is ``DELETE FROM t WHERE key IN (SELECT key FROM t WHERE ... LIMIT :limit FOR UPDATE SKIP
LOCKED)``: valid on PostgreSQL and SQLite (which ignores the locking clause: it has one writer at a
time). On PostgreSQL the inner select skips rows another transaction holds, so a purge never waits
behind the senders, nor they behind it; and each batch is its own short transaction (the caller's).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from customshop.adapters.sqlalchemy import tables as t

#: The bound parameters of every statement made here.
BEFORE, LIMIT = "before", "limit"


def cutoff() -> sa.BindParameter[Any]:
    """The ``before`` parameter, a timestamp."""
    return sa.bindparam(BEFORE, type_=t.Timestamp)


def batch_delete(
    table: sa.Table, key: tuple[sa.Column[Any], ...], *where: sa.ColumnElement[bool]
) -> sa.Delete:
    """Delete up to ``:limit`` rows of ``table`` matching ``where``, chosen by their primary ``key``."""
    chosen = sa.select(*key).where(*where).limit(sa.bindparam(LIMIT)).with_for_update(skip_locked=True)
    target = key[0] if len(key) == 1 else sa.tuple_(*key)
    return table.delete().where(target.in_(chosen))


def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """How many rows of ``table`` match ``where``."""
    return sa.select(sa.func.count()).select_from(table).where(*where)
