"""The shipped Alembic migrations, on SQLite and on PostgreSQL: they round-trip, they build exactly the
schema of ``tables.metadata``, and the ``customshop db`` commands drive them."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from customshop.adapters.imaging import PillowImageProcessor, PillowRenderer
from customshop.adapters.jobs.inprocess import InProcessJobQueue
from customshop.adapters.memory import ManualClock
from customshop.adapters.memory.storage import MemoryFileStorage
from customshop.adapters.sqlalchemy import migrate
from customshop.adapters.sqlalchemy.engine import create_engine
from customshop.adapters.sqlalchemy.tables import metadata
from customshop.adapters.sqlalchemy.uow import SqlUnitOfWork
from customshop.adapters.system import UuidV7Ids
from customshop.application.catalog import Catalog, OptionSetInput, ProductInput, TemplateInput
from customshop.application.customization import Customization
from customshop.domain.catalog import Option, VolumeTier
from customshop.domain.money import Money
from customshop.domain.quote import TaxLine
from customshop.domain.templates import TemplateStatus
from tests.builders import IDS
from tests.integration.conftest import CUSTOMSHOP

SCHEMA_TABLES = frozenset(metadata.tables)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that has never been migrated: a new SQLite file or a new PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("fresh_postgres_url"))
    return f"sqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
async def empty_engine(empty_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(empty_database_url)
    yield engine
    await engine.dispose()


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        names: list[str] = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    return set(names)


async def schema_differences(engine: AsyncEngine, target: sa.MetaData = metadata) -> list[Any]:
    """What ``alembic revision --autogenerate`` would emit to turn the database into ``target``."""

    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, target))

    async with engine.connect() as conn:
        return await conn.run_sync(compare)


def scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", migrate.SCRIPT_LOCATION)
    return ScriptDirectory.from_config(config)


def revision_chain() -> list[str]:
    """The shipped revisions, oldest first."""
    return [script.revision for script in reversed(list(scripts().walk_revisions()))]


def previous_revision(revision: str) -> str | None:
    down = scripts().get_revision(revision).down_revision
    assert down is None or isinstance(down, str), f"{revision} is a merge point"
    return down


def test_revisions_form_one_line_up_to_head() -> None:
    chain = revision_chain()
    assert chain[0] == "0001"
    assert scripts().get_heads() == [chain[-1]]
    assert migrate.head() == chain[-1]
    assert [previous_revision(r) for r in chain] == [None, *chain[:-1]]


async def test_upgrade_downgrade_round_trip(empty_engine: AsyncEngine) -> None:
    assert await migrate.current(empty_engine) is None
    assert await table_names(empty_engine) == set()

    await migrate.upgrade(empty_engine)
    assert await migrate.current(empty_engine) == migrate.head()
    assert await table_names(empty_engine) == SCHEMA_TABLES | {"alembic_version"}

    await migrate.upgrade(empty_engine)  # idempotent at head
    assert await migrate.current(empty_engine) == migrate.head()

    await migrate.downgrade(empty_engine, "base")
    assert await migrate.current(empty_engine) is None
    assert await table_names(empty_engine) == {"alembic_version"}  # the version table stays, empty

    await migrate.upgrade(empty_engine)
    assert await migrate.current(empty_engine) == migrate.head()
    assert await table_names(empty_engine) == SCHEMA_TABLES | {"alembic_version"}
    assert await schema_differences(empty_engine) == []


async def test_one_step_down_from_head_and_back(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    previous = previous_revision(migrate.head())

    await migrate.downgrade(empty_engine, "-1")
    assert await migrate.current(empty_engine) == previous
    if previous is None:
        assert await table_names(empty_engine) == {"alembic_version"}  # the version table stays, empty
    else:
        assert await schema_differences(empty_engine) != []

    await migrate.upgrade(empty_engine)
    assert await migrate.current(empty_engine) == migrate.head()
    assert await schema_differences(empty_engine) == []


async def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(empty_engine: AsyncEngine) -> None:
    chain = revision_chain()
    for revision in chain:
        await migrate.upgrade(empty_engine, revision)
        assert await migrate.current(empty_engine) == revision
    assert await schema_differences(empty_engine) == []

    for revision in reversed(chain):
        assert await migrate.current(empty_engine) == revision
        await migrate.downgrade(empty_engine, "-1")
        assert await migrate.current(empty_engine) == previous_revision(revision)
    assert await table_names(empty_engine) == {"alembic_version"}  # the version table stays, empty


async def test_migrated_schema_is_exactly_the_metadata(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    assert await schema_differences(empty_engine) == []


def copy_of_metadata() -> sa.MetaData:
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


async def test_schema_comparison_sees_differences(empty_engine: AsyncEngine) -> None:
    """The comparison is not vacuous: a nullable flag, an index or a column type that the migrations
    do not create is reported."""
    await migrate.upgrade(empty_engine)

    nullable = copy_of_metadata()
    nullable.tables["products"].c.name.nullable = True
    diffs = await schema_differences(empty_engine, nullable)
    assert [(d[0][0], d[0][2], d[0][3]) for d in diffs] == [("modify_nullable", "products", "name")]

    indexed = copy_of_metadata()
    sa.Index("ix_products_name", indexed.tables["products"].c.name)
    diffs = await schema_differences(empty_engine, indexed)
    assert [(d[0], d[1].name) for d in diffs] == [("add_index", "ix_products_name")]

    retyped = copy_of_metadata()
    retyped.tables["templates"].c.version.type = sa.String(10)
    diffs = await schema_differences(empty_engine, retyped)
    assert [(d[0][0], d[0][2], d[0][3]) for d in diffs] == [("modify_type", "templates", "version")]

    if empty_engine.dialect.name == "postgresql":
        # So "no differences" also vouches for UtcDateTime (timestamptz) and the JSONB variant.
        plain = copy_of_metadata()
        plain.tables["products"].c.created_at.type = sa.DateTime(timezone=False)
        plain.tables["products"].c.media.type = sa.JSON()
        diffs = await schema_differences(empty_engine, plain)
        assert sorted((d[0][0], d[0][3]) for d in diffs) == [
            ("modify_type", "created_at"),
            ("modify_type", "media"),
        ]


async def test_one_default_template_index_is_partial(empty_engine: AsyncEngine) -> None:
    """Alembic does not compare index predicates, so check the partial unique index by reflection."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        indexes = await conn.run_sync(lambda sync: sa.inspect(sync).get_indexes("templates"))
        dialect = conn.dialect.name
    (index,) = [i for i in indexes if i["name"] == "uq_templates_default_per_product"]
    assert index["column_names"] == ["product_id"]
    assert index["unique"]
    where = index["dialect_options"][f"{dialect}_where"]
    assert str(where).strip("()") == "is_default"


async def test_pending_outbox_index_is_partial(empty_engine: AsyncEngine) -> None:
    """The relay's index holds only the messages not yet relayed (checked by reflection, as above)."""
    await migrate.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        indexes = await conn.run_sync(lambda sync: sa.inspect(sync).get_indexes("outbox"))
        dialect = conn.dialect.name
    (index,) = [i for i in indexes if i["name"] == "ix_outbox_pending"]
    assert index["column_names"] == ["id"]
    assert not index["unique"]
    where = index["dialect_options"][f"{dialect}_where"]
    assert str(where).strip("()").lower() == "relayed_at is null"


# -- the command line ------------------------------------------------------------------------------


def customshop(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CUSTOMSHOP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout.strip()


def postgres_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {row[0] for row in rows}


def test_cli_migrates_postgresql(cli_env: dict[str, str], fresh_postgres_url: str, tmp_path: Path) -> None:
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url}
    head = migrate.head()
    previous = previous_revision(head) or "base"

    assert ok(customshop(env, tmp_path, "db", "current")) == f"database at revision base (newest: {head})"
    assert postgres_tables(fresh_postgres_url) == set()

    assert ok(customshop(env, tmp_path, "db", "upgrade")) == f"database at revision {head}"
    assert postgres_tables(fresh_postgres_url) == SCHEMA_TABLES | {"alembic_version"}
    assert ok(customshop(env, tmp_path, "db", "current")) == f"database at revision {head} (newest: {head})"

    assert ok(customshop(env, tmp_path, "db", "downgrade", "base")) == "database at revision base"
    assert postgres_tables(fresh_postgres_url) == {"alembic_version"}  # the version table stays, empty

    assert ok(customshop(env, tmp_path, "db", "upgrade")) == f"database at revision {head}"
    assert postgres_tables(fresh_postgres_url) == SCHEMA_TABLES | {"alembic_version"}

    assert ok(customshop(env, tmp_path, "db", "downgrade")) == f"database at revision {previous}"
    assert (
        ok(customshop(env, tmp_path, "db", "current")) == f"database at revision {previous} (newest: {head})"
    )
    assert ok(customshop(env, tmp_path, "db", "upgrade", head)) == f"database at revision {head}"


def test_cli_reports_an_unknown_revision(
    cli_env: dict[str, str], fresh_postgres_url: str, tmp_path: Path
) -> None:
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url}
    result = customshop(env, tmp_path, "db", "upgrade", "nosuchrevision")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: migration: ")
    assert "nosuchrevision" in lines[0]
    assert postgres_tables(fresh_postgres_url) == set()  # nothing was begun


def test_cli_migrates_embedded_sqlite_under_the_data_dir(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert "CUSTOMSHOP_DATABASE_URL" not in cli_env
    data_dir = Path(cli_env["CUSTOMSHOP_DATA_DIR"])
    database = data_dir / "customshop.db"
    head = migrate.head()
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    assert ok(customshop(cli_env, workdir, "db", "upgrade")) == f"database at revision {head}"
    assert database.is_file()
    assert not (workdir / "var").exists()
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        (version,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.close()
    assert tables == SCHEMA_TABLES | {"alembic_version"}
    assert version == head

    assert (
        ok(customshop(cli_env, workdir, "db", "current")) == f"database at revision {head} (newest: {head})"
    )
    assert ok(customshop(cli_env, workdir, "db", "downgrade", "base")) == "database at revision base"
    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert tables == {"alembic_version"}  # the version table stays, empty


async def no_jobs(name: str, payload: Mapping[str, Any]) -> None:
    raise AssertionError(f"no job expected, got {name}")


async def test_guests_that_own_something_keep_their_keys_across_0010(empty_engine: AsyncEngine) -> None:
    """Revision 0010 starts recording issued session keys; the guests of existing sessions are
    recorded then, so their keys still open what they own."""
    await migrate.upgrade(empty_engine)
    clock, uow = ManualClock(), partial(SqlUnitOfWork, empty_engine)
    catalog = Catalog(uow, clock, UuidV7Ids(), "USD")
    product = await catalog.create_product(ProductInput(name="Mug", description="", base_price=900))
    await catalog.create_template(
        TemplateInput(product.id, 1, {"canvas": {"width": 10, "height": 10}, "zones": []})
    )
    customization = Customization(
        uow,
        clock,
        UuidV7Ids(),
        MemoryFileStorage(),
        PillowImageProcessor(),
        PillowRenderer(),
        InProcessJobQueue(no_jobs),
        session_ttl=timedelta(days=7),
        render_timeout=timedelta(seconds=30),
    )
    started = await customization.start(product.id, None, None)
    assert started.session_key is not None
    await migrate.downgrade(empty_engine, "0009")
    assert "guest_keys" not in await table_names(empty_engine)
    await migrate.upgrade(empty_engine)
    assert (await customization.view(started.session.id, started.session_key)).session == started.session
    again = await customization.start(product.id, None, started.session_key)
    assert again.session_key is None  # kept, not replaced


async def product_columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("products"))
    return {column["name"] for column in columns}


async def test_products_get_a_tax_class_and_volume_pricing_across_0012(empty_engine: AsyncEngine) -> None:
    """Revision 0012 gives the products stored before it the standard tax class and no volume
    pricing; going back down drops both and keeps the products."""
    before = previous_revision("0012")
    assert before is not None
    await migrate.upgrade(empty_engine, before)
    old_id = IDS.new_id()
    async with empty_engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO products (id, slug, name, description, base_price, currency, media, active,"
                " created_at, updated_at) VALUES (:id, 'mug', 'Mug', '', 900, 'USD', '[]', true, :at, :at)"
            ),
            {"id": old_id, "at": datetime.now(UTC)},
        )
    await migrate.upgrade(empty_engine)
    catalog = Catalog(partial(SqlUnitOfWork, empty_engine), ManualClock(), UuidV7Ids(), "USD")
    (old,) = (await catalog.list_products(include_inactive=True, after=None, limit=10)).items
    assert (old.id, old.tax_class, old.volume_pricing) == (old_id, "standard", ())
    tiered = await catalog.create_product(
        ProductInput(
            name="Tee",
            description="",
            base_price=1900,
            tax_class="clothing",
            volume_pricing=(VolumeTier(10, 1500), VolumeTier(25, 2000)),
        )
    )
    listed = await catalog.list_products(include_inactive=True, after=None, limit=10)
    assert tiered in listed.items

    await migrate.downgrade(empty_engine, before)
    columns = await product_columns(empty_engine)
    assert {"tax_class", "volume_pricing"}.isdisjoint(columns)
    assert {"id", "slug", "base_price", "media"} <= columns
    async with empty_engine.connect() as conn:
        slugs = (await conn.execute(sa.text("SELECT slug FROM products ORDER BY slug"))).scalars().all()
    assert slugs == ["mug", "tee"]
    await migrate.upgrade(empty_engine)
    assert await schema_differences(empty_engine) == []


async def test_orders_placed_before_0013_keep_their_totals_and_get_their_tax_line(
    empty_engine: AsyncEngine,
) -> None:
    """Revision 0013 gives orders their price breakdown: an order placed before it shows no
    discounts, no shipping method or region, its whole tax as one ``Tax`` line at the rate read back
    from it, and its lines no volume discount, discount or tax."""
    await migrate.upgrade(empty_engine, "0012")
    at = datetime.now(UTC)
    order = {
        "id": "order-1",
        "guest": "g" * 64,
        "token_hash": "t" * 64,
        "email": "ada@example.com",
        "shipping_address": {
            "name": "Ada",
            "line1": "1 Main St",
            "line2": None,
            "city": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
        "currency": "USD",
        "subtotal": 12_000,
        "tax": 990,
        "shipping": 500,
        "total": 13_490,
        "status": "created",
        "timeline": [{"status": "created", "at": at.isoformat(), "note": None}],
        "stock": [],
        "stock_state": "reserved",
        "reserved_until": at,
        "payment_provider": "test",
        "payment_id": None,
        "paid_amount": 0,
        "refunded_amount": 0,
        "created_at": at,
        "updated_at": at,
    }
    line = {
        "id": "line-1",
        "order_id": "order-1",
        "position": 0,
        "product_id": "p",
        "product_name": "Mug",
        "template_id": "t",
        "template_version": 1,
        "template_snapshot": {},
        "options": {},
        "components": [],
        "unit_price": 6000,
        "quantity": 2,
    }
    async with empty_engine.begin() as conn:
        # Only the columns the orders had at 0012 (the newer ones are left out of the statements).
        await conn.execute(metadata.tables["orders"].insert(), [order])
        await conn.execute(metadata.tables["order_lines"].insert(), [line])
    await migrate.upgrade(empty_engine)

    async with SqlUnitOfWork(empty_engine, read_only=True) as uow:
        kept = await uow.orders.get("order-1")
    assert kept is not None
    assert (kept.subtotal, kept.tax, kept.shipping, kept.total) == (
        Money(12_000, "USD"),
        Money(990, "USD"),
        Money(500, "USD"),
        Money(13_490, "USD"),
    )
    assert (kept.discounts, kept.discount_total, kept.shipping_method, kept.region_id) == (
        (),
        Money(0, "USD"),
        None,
        None,
    )
    assert not kept.prices_include_tax
    assert kept.tax_lines == (TaxLine("Tax", 825, 990),)
    assert [(x.unit_price, x.volume_discount, x.discount, x.tax) for x in kept.lines] == [(6000, 0, 0, 0)]
    assert kept.shipping_address.subdivision is None

    await migrate.downgrade(empty_engine, "0012")  # and back: the order stays as it was
    await migrate.upgrade(empty_engine)
    async with SqlUnitOfWork(empty_engine, read_only=True) as uow:
        again = await uow.orders.get("order-1")
    assert again is not None and again.tax_lines == kept.tax_lines and again.total == kept.total


async def test_0011_keeps_a_country_in_one_region_and_counts_uses_from_zero(
    empty_engine: AsyncEngine,
) -> None:
    """Revision 0011 adds the commerce rules' tables: the country is the key of ``region_countries``
    (one region each), ``times_used`` starts at 0 and never goes below it; down to 0010 they go."""
    await migrate.upgrade(empty_engine, "0011")
    at = sa.bindparam("at", datetime(2026, 12, 5, tzinfo=UTC), type_=sa.DateTime(timezone=True))
    async with empty_engine.begin() as conn:
        for region in ("r1", "r2"):
            await conn.execute(
                sa.text(
                    "INSERT INTO regions (id, name, prices_include_tax, tax_shipping, tax_rates, created_at, "
                    "updated_at) VALUES (:id, 'R', false, false, '[]', :at, :at)"
                ).bindparams(at, id=region)
            )
        await conn.execute(sa.text("INSERT INTO region_countries VALUES ('DE', 'r1', 0)"))
        await conn.execute(
            sa.text(
                "INSERT INTO promotions (id, code, description, kind, product_ids, combinable, active, "
                "created_at, updated_at) VALUES ('p1', 'SUMMER', 'd', 'fixed', '[]', false, true, :at, :at)"
            ).bindparams(at)
        )
        assert await conn.scalar(sa.text("SELECT times_used FROM promotions")) == 0
    for statement in (
        "INSERT INTO region_countries VALUES ('DE', 'r2', 0)",
        "UPDATE promotions SET times_used = times_used - 1",
        "INSERT INTO promotions (id, code, description, kind, product_ids, combinable, active, created_at, "
        "updated_at) SELECT 'p2', code, description, kind, product_ids, combinable, active, created_at, "
        "updated_at FROM promotions",
    ):
        with pytest.raises(sa.exc.IntegrityError):
            async with empty_engine.begin() as conn:
                await conn.execute(sa.text(statement))
    await migrate.downgrade(empty_engine, "0010")
    assert not {"regions", "region_countries", "shipping_methods", "promotions", "promotion_uses"} & (
        await table_names(empty_engine)
    )


async def test_templates_stored_before_0014_are_published_and_drafts_leave_going_down(
    empty_engine: AsyncEngine,
) -> None:
    """Revision 0014 gives template versions a status: a version stored before it is published.
    Going down, drafts (which no session, cart or order can be on) are deleted with their option
    set links; the other versions stay, with the sessions on them."""
    await migrate.upgrade(empty_engine)
    clock, uow = ManualClock(), partial(SqlUnitOfWork, empty_engine)
    catalog = Catalog(uow, clock, UuidV7Ids(), "USD")
    product = await catalog.create_product(ProductInput(name="Mug", description="", base_price=900))
    sizes = await catalog.create_option_set(OptionSetInput(product.id, "Size", (Option("L", "Large"),)))
    canvas = {"width": 10, "height": 10}
    published = await catalog.create_template(TemplateInput(product.id, 1, {"canvas": canvas, "zones": []}))
    sized = {"canvas": canvas, "zones": [{"id": "size", "type": "option", "option_set_id": sizes.id}]}
    draft = await catalog.create_template(TemplateInput(product.id, 2, sized, status=TemplateStatus.DRAFT))
    customization = Customization(
        uow,
        clock,
        UuidV7Ids(),
        MemoryFileStorage(),
        PillowImageProcessor(),
        PillowRenderer(),
        InProcessJobQueue(no_jobs),
        session_ttl=timedelta(days=7),
        render_timeout=timedelta(seconds=30),
    )
    started = await customization.start(product.id, None, None)

    await migrate.downgrade(empty_engine, previous_revision("0014") or "base")
    async with empty_engine.connect() as conn:
        columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns("templates"))
        stored = (await conn.execute(sa.text("SELECT id FROM templates"))).scalars().all()
        links = (await conn.execute(sa.text("SELECT template_id FROM template_option_sets"))).scalars().all()
    assert "status" not in {column["name"] for column in columns}
    assert stored == [published.id]
    assert links == []
    assert draft.id not in stored

    await migrate.upgrade(empty_engine)
    listed = await catalog.list_templates(product.id, include_inactive=True, before_version=None, limit=10)
    assert [(t.id, t.status) for t in listed.items] == [(published.id, TemplateStatus.PUBLISHED)]
    assert (await customization.view(started.session.id, started.session_key)).session == started.session
