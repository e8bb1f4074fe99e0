"""The product pages as a read model on SQL: on PostgreSQL one statement writes a page's products
in their public JSON form, so no Python object is made per product (docs/performance.md); SQLite's
JSON functions format numbers and times differently, so there the products are read and encoded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from customshop.adapters.product_pages import encoded_page
from customshop.adapters.sqlalchemy.sql import is_postgresql
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.application.ports import JsonPage


def _utc_text(column: str) -> str:
    """SQL for a timestamp as msgspec writes a UTC datetime: seconds, microseconds only when not 0."""
    text = f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    return f"replace({text}, '.000000Z', 'Z')"


def _product_json_page(active_only: bool, after: bool) -> sa.TextClause:
    """One row: the page's products (``limit`` at most) as a JSON array of their public form, the
    id of the page's last product, and how many rows were read (``limit + 1`` when more follow)."""
    conditions = [c for c, wanted in (("active", active_only), ("id > :after", after)) if wanted]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    # Only the constant fragments above are interpolated; values are bound parameters. Media and
    # volume pricing are stored as the API shows them, lists of {url, alt} and of {min_quantity,
    # discount_bps} (see ``repositories._product_values``), so they go as they are.
    return sa.text(
        f"""
        WITH page AS (
            SELECT *, row_number() OVER (ORDER BY id) AS n
            FROM (SELECT * FROM products {where} ORDER BY id LIMIT :limit + 1) AS p
        )
        SELECT coalesce(json_agg(json_build_object(
                   'id', id, 'slug', slug, 'name', name, 'description', description,
                   'base_price', base_price, 'currency', currency,
                   'tax_class', tax_class, 'volume_pricing', volume_pricing,
                   'media', media,
                   'active', active,
                   'created_at', {_utc_text("created_at")},
                   'updated_at', {_utc_text("updated_at")}
               ) ORDER BY id) FILTER (WHERE n <= :limit), '[]')::text,
               max(id) FILTER (WHERE n = :limit),
               count(*)
        FROM page
        """  # noqa: S608
    )


_PRODUCT_JSON_PAGES = {
    (active, after): _product_json_page(active, after) for active in (True, False) for after in (True, False)
}


class SqlProductPages:
    """Implements ``ProductPages`` on the SQL database of ``uow``'s units of work."""

    def __init__(self, uow: Callable[..., SqlUnitOfWork]) -> None:
        self._uow = uow

    async def page_json(self, *, include_inactive: bool, after: str | None, limit: int) -> JsonPage:
        async with self._uow(read_only=True) as uow:
            conn = uow.connection
            if not is_postgresql(conn):
                return await encoded_page(
                    uow.products, include_inactive=include_inactive, after=after, limit=limit
                )
            query = _PRODUCT_JSON_PAGES[(not include_inactive, after is not None)]
            params: dict[str, Any] = {"limit": limit} if after is None else {"limit": limit, "after": after}
            items, last, count = (await conn.execute(query, params)).one()
        return JsonPage(items.encode(), last if count > limit else None)
