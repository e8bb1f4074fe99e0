"""Sales reports through HTTP (contract §6) and ``customshop report sales`` (§7), on SQLite and
PostgreSQL, over orders placed and paid through the API on days set by a manual clock: some paid,
one refunded, one never paid, one cancelled, one shipped. The expected figures are computed here
from the orders as ``GET /orders/{id}`` shows them (items, and the time of ``paid`` in the timeline).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from customshop.adapters.memory import ManualClock
from customshop.entrypoints.container import Container
from customshop.entrypoints.demo import seed_demo_catalog
from tests.integration.conftest import make_key, render_prints
from tests.integration.processes import assert_one_line_error, ok, run

Client = AsyncTestClient  # type: ignore[type-arg]

ORDER = {
    "email": "ada@example.com",
    "shipping_address": {
        "name": "Ada Lovelace",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "GB",
    },
    "payment_provider": "test",
}
SOLD = {"paid", "in_production", "fulfilled", "shipped", "delivered"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Shop:
    """Places and pays orders through the API at the times it is told."""

    def __init__(self, client: Client, clock: ManualClock, products: dict[str, str], admin: dict[str, str]):
        self.client = client
        self.clock = clock
        self.products = products
        self.admin = admin

    def set_time(self, when: datetime) -> None:
        self.clock.advance(microseconds=(when - self.clock.now()) // timedelta(microseconds=1))

    async def order(self, when: datetime, *lines: tuple[str, dict[str, Any], int], pay: bool = True) -> str:
        self.set_time(when)
        key: dict[str, str] = {}
        for slug, options, quantity in lines:
            body = {"product_id": self.products[slug], "options": options, "quantity": quantity}
            added = await self.client.post("/cart/items", json=body, headers=key)
            assert added.status_code == 200, added.text
            key = key or {"X-Session-Key": added.headers["x-session-key"]}  # a new guest's key
            self.client.cookies.clear()
        placed = await self.client.post("/checkout", json=ORDER, headers=key)
        assert placed.status_code == 201, placed.text
        if pay:
            payment_id = placed.json()["payment"]["payment_id"]
            paid = await self.client.post(f"/test-payments/{payment_id}/succeed")
            assert paid.json()["result"] == "applied", paid.text
        return str(placed.json()["order_id"])

    async def read(self, order_id: str) -> dict[str, Any]:
        response = await self.client.get(f"/orders/{order_id}", headers=self.admin)
        assert response.status_code == 200, response.text
        return dict(response.json())


def paid_day(order: dict[str, Any]) -> date | None:
    paid = [e["at"] for e in order["timeline"] if e["status"] == "paid"]
    return datetime.fromisoformat(paid[0]).astimezone(UTC).date() if paid else None


def sold_between(orders: list[dict[str, Any]], start: date, end: date) -> list[dict[str, Any]]:
    return [
        o for o in orders if o["status"] in SOLD and (day := paid_day(o)) is not None and start <= day <= end
    ]


def expected_sales(orders: list[dict[str, Any]], start: date, end: date) -> dict[str, Any]:
    sold = sold_between(orders, start, end)
    by_product: dict[tuple[str, int], list[int]] = {}
    for order in sold:
        for item in order["items"]:
            entry = by_product.setdefault((item["product_id"], item["template_version"]), [0, 0])
            entry[0] += item["quantity"]
            entry[1] += item["unit_price"] * item["quantity"]
    return {
        "orders": len(sold),
        "units": sum(item["quantity"] for o in sold for item in o["items"]),
        "total_sales": sum(o["subtotal"] for o in sold),
        "by_product": {key: tuple(value) for key, value in by_product.items()},
    }


def expected_periods(
    orders: list[dict[str, Any]], start: date, end: date, granularity: str
) -> dict[str, int]:
    revenue: Counter[str] = Counter()
    for order in sold_between(orders, start, end):
        day = paid_day(order)
        assert day is not None
        if granularity == "week":
            day = date.fromisocalendar(*day.isocalendar()[:2], 1)
        elif granularity == "month":
            day = day.replace(day=1)
        revenue[day.isoformat()] += order["subtotal"]
    return dict(revenue)


def expected_choices(orders: list[dict[str, Any]]) -> dict[str, dict[tuple[str, str, str], tuple[int, int]]]:
    counts: dict[str, dict[tuple[str, str, str], list[int]]] = {}
    for order in sold_between(orders, date.min, date.max):
        for item in order["items"]:
            made = [("option", c["zone_id"], c["code"]) for c in item["price_components"] if c["code"]]
            made += [
                ("color", zone, value)
                for zone, value in item["options"].items()
                if isinstance(value, str) and value.startswith("#")
            ]
            for choice in made:
                entry = counts.setdefault(item["product_id"], {}).setdefault(choice, [0, 0])
                entry[0] += 1
                entry[1] += item["quantity"]
    return {p: {k: (v[0], v[1]) for k, v in choices.items()} for p, choices in counts.items()}


@pytest.fixture
async def shop(client: Client, container: Container, admin: dict[str, str]) -> dict[str, Any]:
    """Eight orders over three weeks, and each as ``GET /orders/{id}`` shows it at the end."""
    await seed_demo_catalog(container.use_cases.catalog())
    page = await container.use_cases.catalog().list_products(include_inactive=False, after=None, limit=10)
    products = {p.slug: p.id for p in page.items}
    clock = ManualClock(at("2026-02-28T08:00:00"))
    container.adapters.clock.override(providers.Object(clock))
    shop = Shop(client, clock, products, admin)
    tee, keepsake, box = "classic-tee", "engraved-keepsake-box", "build-your-own-gift-box"
    engraving = {"text": "Ada", "font": "Serif"}
    ids = {
        "february": await shop.order(at("2026-02-28T12:00:00"), (box, {"components": ["chocolate"]}, 4)),
        "sunday": await shop.order(
            at("2026-03-01T09:00:00"), (tee, {"size": "L", "body_color": "#c0392b"}, 2)
        ),
        "sunday_late": await shop.order(
            at("2026-03-01T23:59:59.999999"),
            (box, {"components": ["candle", "tea"], "wrap_color": "#1e8449"}, 1),
        ),
        "monday_midnight": await shop.order(
            at("2026-03-02T00:00:00"),
            (tee, {"size": "M"}, 1),
            (keepsake, {"engraving": engraving, "wood": "walnut"}, 1),
        ),
        "refunded": await shop.order(at("2026-03-03T10:00:00"), (tee, {"size": "XL"}, 3)),
        "unpaid": await shop.order(at("2026-03-03T11:00:00"), (tee, {"size": "S"}, 1), pay=False),
        "cancelled": await shop.order(
            at("2026-03-04T09:00:00"), (box, {"components": ["socks"]}, 2), pay=False
        ),
        "shipped": await shop.order(
            at("2026-03-09T08:00:00"), (keepsake, {"engraving": engraving, "wood": "oak"}, 1)
        ),
    }
    shop.set_time(at("2026-03-10T12:00:00"))
    for name in ("refunded", "cancelled"):
        response = await client.post(f"/orders/{ids[name]}/cancel", headers=admin)
        assert response.status_code == 200, response.text
    await render_prints(container)  # production waits for the print files
    for status in ("in_production", "fulfilled", "shipped"):
        moved = await client.post(f"/orders/{ids['shipped']}/status", json={"status": status}, headers=admin)
        assert moved.status_code == 200, moved.text
    orders = {name: await shop.read(order_id) for name, order_id in ids.items()}
    assert {name: o["status"] for name, o in orders.items()} == {
        "february": "paid",
        "sunday": "paid",
        "sunday_late": "paid",
        "monday_midnight": "paid",
        "refunded": "refunded",
        "unpaid": "created",
        "cancelled": "cancelled",
        "shipped": "shipped",
    }
    assert paid_day(orders["sunday_late"]) == date(2026, 3, 1)
    assert paid_day(orders["monday_midnight"]) == date(2026, 3, 2)
    return {"ids": ids, "orders": orders, "products": products}


async def reporter(container: Container) -> dict[str, str]:
    return {"X-API-Key": await make_key(container, "reports:read")}


# -- sales -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "names"),
    [
        ("2026-03-01", "2026-03-01", {"sunday", "sunday_late"}),
        ("2026-03-01", "2026-03-02", {"sunday", "sunday_late", "monday_midnight"}),
        ("2026-03-02", "2026-03-08", {"monday_midnight"}),  # the refund of the 3rd is left out
        ("2026-03-03", "2026-03-08", set()),
        ("2026-02-01", "2026-03-31", {"february", "sunday", "sunday_late", "monday_midnight", "shipped"}),
    ],
)
async def test_sales_report_counts_the_paid_orders_of_the_days(
    client: Client, container: Container, shop: dict[str, Any], start: str, end: str, names: set[str]
) -> None:
    orders: dict[str, dict[str, Any]] = shop["orders"]
    response = await client.get(
        "/reports/sales", params={"start": start, "end": end}, headers=await reporter(container)
    )
    assert response.status_code == 200, response.text
    report = response.json()
    expected = expected_sales(list(orders.values()), date.fromisoformat(start), date.fromisoformat(end))
    assert expected["orders"] == len(names)
    assert expected["total_sales"] == sum(orders[n]["subtotal"] for n in names)
    assert (report["start"], report["end"], report["currency"]) == (start, end, "USD")
    assert {k: report[k] for k in ("orders", "units", "total_sales")} == {
        k: expected[k] for k in ("orders", "units", "total_sales")
    }
    assert {
        (p["product_id"], p["template_version"]): (p["units"], p["revenue"]) for p in report["by_product"]
    } == (expected["by_product"])
    assert report["total_sales"] == sum(p["revenue"] for p in report["by_product"])
    revenues = [p["revenue"] for p in report["by_product"]]
    assert revenues == sorted(revenues, reverse=True)
    names_by_id = {item["product_id"]: item["product_name"] for o in orders.values() for item in o["items"]}
    assert all(p["product_name"] == names_by_id[p["product_id"]] for p in report["by_product"])


async def test_reports_need_the_reports_scope(
    client: Client, container: Container, shop: dict[str, Any]
) -> None:
    params = {"start": "2026-03-01", "end": "2026-03-31"}
    for path in ("/reports/sales", "/reports/revenue", "/reports/options"):
        assert (await client.get(path, params=params)).status_code == 403
        reader = {"X-API-Key": await make_key(container, "orders:read")}
        denied = await client.get(path, params=params, headers=reader)
        assert denied.status_code == 403
        assert denied.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(path, params=params, headers=await reporter(container))).status_code == 200
        admin = {"X-API-Key": await make_key(container, "admin")}
        assert (await client.get(path, params=params, headers=admin)).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        ("/reports/sales", {}, {"start": "required", "end": "required"}),
        (
            "/reports/sales",
            {"start": "2026-02-30", "end": "tomorrow"},
            {"start": "invalid_format", "end": "invalid_format"},
        ),
        ("/reports/sales", {"start": "2026-03-01"}, {"end": "required"}),
        ("/reports/sales", {"start": "2026-03-02", "end": "2026-03-01"}, {"end": "out_of_range"}),
        (
            "/reports/sales",
            {"start": "2026-03-01", "end": "2026-03-02", "currency": "dollars"},
            {"currency": "invalid_choice"},
        ),
        (
            "/reports/revenue",
            {"granularity": "year", "start": "2026-03-01", "end": "2026-3-2"},
            {"granularity": "invalid_choice", "end": "invalid_format"},
        ),
        (
            "/reports/revenue",
            {"granularity": "day", "start": "2000-01-01", "end": "2026-03-02"},
            {"end": "out_of_range"},
        ),
        ("/reports/options", {"start": "01/03/2026"}, {"start": "invalid_format"}),
        ("/reports/options", {"limit": "0"}, {"limit": "out_of_range"}),
    ],
)
async def test_bad_parameters_are_a_400_naming_each(
    client: Client, container: Container, path: str, params: dict[str, str], expected: dict[str, str]
) -> None:
    response = await client.get(path, params=params, headers=await reporter(container))
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {e["field"]: e["code"] for e in problem["errors"]} == expected, problem


# -- revenue ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("granularity", "start", "end", "periods"),
    [
        ("day", "2026-02-28", "2026-03-03", ["2026-02-28", "2026-03-01", "2026-03-02", "2026-03-03"]),
        ("week", "2026-02-25", "2026-03-15", ["2026-02-23", "2026-03-02", "2026-03-09"]),
        ("month", "2026-02-01", "2026-04-30", ["2026-02-01", "2026-03-01", "2026-04-01"]),
        ("week", "2026-03-01", "2026-03-01", ["2026-02-23"]),
    ],
)
async def test_revenue_per_period(
    client: Client,
    container: Container,
    shop: dict[str, Any],
    granularity: str,
    start: str,
    end: str,
    periods: list[str],
) -> None:
    orders = list(shop["orders"].values())
    params = {"granularity": granularity, "start": start, "end": end}
    response = await client.get("/reports/revenue", params=params, headers=await reporter(container))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["granularity"], report["start"], report["end"], report["currency"]) == (
        granularity,
        start,
        end,
        "USD",
    )
    assert [p["period"] for p in report["periods"]] == periods
    expected = expected_periods(orders, date.fromisoformat(start), date.fromisoformat(end), granularity)
    assert {p["period"]: p["revenue"] for p in report["periods"] if p["revenue"] or p["orders"]} == expected
    assert report["total_sales"] == sum(expected.values())
    sales = await client.get(
        "/reports/sales", params={"start": start, "end": end}, headers=await reporter(container)
    )
    assert report["total_sales"] == sales.json()["total_sales"]
    assert sum(p["units"] for p in report["periods"]) == sales.json()["units"]


# -- popular choices -------------------------------------------------------------------------------


async def test_popular_choices_of_paid_orders(
    client: Client, container: Container, shop: dict[str, Any]
) -> None:
    key = await reporter(container)
    response = await client.get("/reports/options", headers=key)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["start"], report["end"]) == (None, None)
    listed = {
        p["product_id"]: {
            (c["kind"], c["zone_id"], c["value"]): (c["count"], c["units"]) for c in p["choices"]
        }
        for p in report["by_product"]
    }
    assert listed == expected_choices(list(shop["orders"].values()))
    tee = shop["products"]["classic-tee"]
    assert listed[tee] == {  # XL was refunded and S never paid
        ("option", "size", "L"): (1, 2),
        ("option", "size", "M"): (1, 1),
        ("color", "body_color", "#c0392b"): (1, 2),
    }
    for product in report["by_product"]:
        counts = [(c["count"], c["units"]) for c in product["choices"]]
        assert counts == sorted(counts, reverse=True)
    labels = {c["value"]: c["label"] for p in report["by_product"] for c in p["choices"]}
    assert (labels["L"], labels["walnut"], labels["#c0392b"]) == ("Large", "Walnut", None)

    only = await client.get("/reports/options", params={"product_id": tee, "limit": "1"}, headers=key)
    # L and the red colour tie (one line, two units each): the zone id decides, "body_color" < "size".
    assert [(p["product_id"], [c["value"] for c in p["choices"]]) for p in only.json()["by_product"]] == [
        (tee, ["#c0392b"])
    ]
    march = await client.get(
        "/reports/options", params={"start": "2026-03-02", "end": "2026-03-02"}, headers=key
    )
    assert {p["product_id"] for p in march.json()["by_product"]} == {
        tee,
        shop["products"]["engraved-keepsake-box"],
    }
    assert (march.json()["start"], march.json()["end"]) == ("2026-03-02", "2026-03-02")


# -- the command line ------------------------------------------------------------------------------


async def test_report_sales_command_prints_the_same_figures(
    client: Client,
    container: Container,
    shop: dict[str, Any],
    database_url: str,
    cli_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = {**cli_env, "CUSTOMSHOP_DATABASE_URL": database_url}
    response = await client.get(
        "/reports/sales",
        params={"start": "2026-02-01", "end": "2026-03-31"},
        headers=await reporter(container),
    )
    report = response.json()
    printed = ok(
        "report", "sales", "--start", "2026-02-01", "--end", "2026-03-31", env=env, cwd=tmp_path
    ).stdout
    assert f"{report['orders']} orders, {report['units']} units, {report['total_sales']} USD" in printed, (
        printed
    )
    for product in report["by_product"]:
        (row,) = [
            line
            for line in printed.splitlines()
            if product["product_id"] in line and f"v{product['template_version']}" in line
        ]
        cells = [cell.strip() for cell in row.strip("│┃ ").split("│")]
        assert cells == [
            product["product_id"],
            product["product_name"],
            f"v{product['template_version']}",
            str(product["units"]),
            f"{product['revenue']} USD",
        ], row

    assert_one_line_error(
        run("report", "sales", "--start", "2026-02-30", "--end", "soon", env=env, cwd=tmp_path),
        "--start",
        "--end",
    )
    assert_one_line_error(
        run("report", "sales", "--start", "2026-03-02", "--end", "2026-03-01", env=env, cwd=tmp_path),
        "--end: end is before start",
    )
    assert_one_line_error(run("report", "sales", "--start", "2026-03-02", env=env, cwd=tmp_path), "--end")
