"""``customshop products import|export`` and ``customshop templates import`` run as a user runs them:
real subprocesses on PostgreSQL databases of their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from customshop.application.catalog import OptionSetInput, ProductInput
from customshop.domain.catalog import MediaItem, Option
from customshop.entrypoints.container import Container, build_container, close
from customshop.entrypoints.demo import seed_demo_catalog
from customshop.entrypoints.settings import Settings
from tests.integration.conftest import PostgresDatabases
from tests.integration.processes import Result, ok, run

#: The columns of files written before products had a tax class and volume tiers, which still import.
HEADER = "kind,id,slug,name,description,base_price,currency,active,url,alt,code,label,price_delta"
#: The columns of an export.
EXPORT_HEADER = (
    "kind,id,slug,name,description,base_price,currency,active,tax_class,url,alt,code,label,price_delta,"
    "min_quantity,discount_bps"
)


def migrated(postgres_databases: PostgresDatabases, cli_env: dict[str, str], cwd: Path) -> dict[str, str]:
    """The environment of the CLI on a new, migrated PostgreSQL database."""
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": postgres_databases.create()}
    ok("db", "upgrade", env=env, cwd=cwd)
    return env


@pytest.fixture
def pg_env(postgres_databases: PostgresDatabases, cli_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return migrated(postgres_databases, cli_env, tmp_path)


def container_of(env: dict[str, str], tmp_path: Path) -> Container:
    return build_container(
        Settings(database_url=env["CUSTOMSHOP_DATABASE_URL"], data_dir=str(tmp_path / "var"))
    )


def export(env: dict[str, str], cwd: Path, name: str) -> str:
    path = cwd / name
    done = ok("products", "export", str(path), env=env, cwd=cwd)
    assert f"to {path}" in done.stdout
    return path.read_bytes().decode("utf-8")


def assert_rejected(result: Result, problems: list[str]) -> None:
    """Failed, with one stderr line per problem, then one ``error:`` line; no traceback."""
    lines = result.stderr.splitlines()
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert lines[:-1] == problems, result.stderr
    assert lines[-1].startswith("error: ") and "nothing was imported" in lines[-1], result.stderr


async def test_export_then_import_into_an_empty_database_is_lossless(
    pg_env: dict[str, str], postgres_databases: PostgresDatabases, cli_env: dict[str, str], tmp_path: Path
) -> None:
    container = container_of(pg_env, tmp_path)
    try:
        await seed_demo_catalog(container.use_cases.catalog())
        catalog = container.use_cases.catalog()
        mug = await catalog.create_product(
            ProductInput(
                'Mug, "large"',
                "Stoneware.\r\nDishwasher safe; 350 ml ",
                1250,
                media=(
                    MediaItem("https://cdn.example.com/mug.png", "Mug, front"),
                    MediaItem("/media/mug-2.png"),
                ),
                active=False,
                currency="EUR",
            )
        )
        await catalog.create_option_set(OptionSetInput(mug.id, "Glaze", (Option("matte", "Matte", -100),)))
    finally:
        await close(container)

    first = export(pg_env, tmp_path, "first.csv")
    assert first.startswith(EXPORT_HEADER + "\r\n")
    assert first.count("\nproduct,") == 4
    assert "\nvolume_tier," in first  # the demo tee's quantity prices

    elsewhere = migrated(postgres_databases, cli_env, tmp_path)
    imported = ok("products", "import", str(tmp_path / "first.csv"), env=elsewhere, cwd=tmp_path)
    assert "4 products created, 0 updated, 0 unchanged; 4 option sets created" in imported.stdout
    assert imported.stderr == ""
    assert export(elsewhere, tmp_path, "second.csv") == first

    again = ok("products", "import", str(tmp_path / "second.csv"), env=elsewhere, cwd=tmp_path)
    assert "0 products created, 0 updated, 4 unchanged" in again.stdout


async def test_a_bad_file_imports_nothing_and_names_every_bad_row(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        f"{HEADER}\nproduct,,tee,Tee,,1900,,,,,,,\noption_set,,,Size,,,,,,,,,\noption,,,,,,,,,,S,Small,0\n"
    )
    ok("products", "import", str(good), env=pg_env, cwd=tmp_path)
    before = export(pg_env, tmp_path, "before.csv")

    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"{HEADER}\n"
        "product,,tee,Tee,,2900,,,,,,,\n"  # a fine change: not made either
        "product,,mug,Mug,,12.50,,,,,,,\n"
        "product,,cup,Cup,,100,ABC,,,,,,\n"
        "option_set,,,Size,,,,,,,,,\n"
        "option,,,,,,,,,,S,,0\n"
        "product,,Bad Slug,Plate,,100,,,,,,,\n"
    )
    result = run("products", "import", str(bad), env=pg_env, cwd=tmp_path)
    assert_rejected(
        result,
        [
            "line 3: base_price: must be a whole number of minor units (2500 for 25.00), not '12.50'",
            "line 4: currency: 'ABC' is not an ISO 4217 code",
            "line 6: label: must be 1 to 200 characters",
            "line 7: slug: must be lower-case letters and digits joined by '-'",
        ],
    )
    assert result.stdout == ""
    assert export(pg_env, tmp_path, "after.csv") == before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"kind,name\nproduct,Mug\n", "lacks the columns"),
        (HEADER.encode() + b"\nproduct,,,Caf\xe9,,1,,,,,,,\n", "not UTF-8"),
        (b"", "the file is empty"),
    ],
)
def test_a_malformed_file_is_one_line(
    pg_env: dict[str, str], tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = tmp_path / "products.csv"
    path.write_bytes(content)
    result = run("products", "import", str(path), env=pg_env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert fragment in result.stderr and "products.csv" in result.stderr


async def test_an_import_moves_slugs_and_drops_cached_catalogs(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "products.csv"
    path.write_text(f"{HEADER}\nproduct,,a,A,,100,,,,,,,\nproduct,,b,B,,200,,,,,,,\n")
    ok("products", "import", str(path), env=pg_env, cwd=tmp_path)
    rows = export(pg_env, tmp_path, "ids.csv").splitlines()[1:]
    a_id, b_id = (line.split(",")[1] for line in rows)

    container = container_of(pg_env, tmp_path)
    try:
        cache = container.use_cases.catalog_cache()

        async def load() -> bytes:
            return b"products"

        await cache.get("products", load)
        assert cache.peek("products") == b"products"

        path.write_text(f"{HEADER}\nproduct,{a_id},b,A,,100,,,,,,,\nproduct,{b_id},a,B,,200,,,,,,,\n")
        done = ok("products", "import", str(path), env=pg_env, cwd=tmp_path)
        assert "2 updated" in done.stdout
        await cache.refresh()  # what every serving process does every 250 ms
        assert cache.peek("products") is None, "a serving process must drop its catalog after an import"
        swapped = {
            p.id: p.slug
            for p in (
                await container.use_cases.catalog().list_products(include_inactive=True, after=None, limit=10)
            ).items
        }
        assert swapped == {a_id: "b", b_id: "a"}
    finally:
        await close(container)


def definition(option_set_id: str | None = None, width: int = 100) -> dict[str, object]:
    zones: list[dict[str, object]] = [
        {"id": "line", "type": "text", "area": {"x": 0, "y": 0, "width": width, "height": 10}}
    ]
    if option_set_id:
        zones.append({"id": "size", "type": "option", "option_set_id": option_set_id, "required": True})
    return {"canvas": {"width": 100, "height": 100}, "zones": zones}


async def test_templates_import_one_then_many_and_a_bad_file_imports_nothing(
    pg_env: dict[str, str], tmp_path: Path
) -> None:
    products = tmp_path / "products.csv"
    products.write_text(
        f"{HEADER}\nproduct,,tee,Tee,,1900,,,,,,,\noption_set,,,Size,,,,,,,,,\noption,,,,,,,,,,S,Small,0\n"
        "product,,mug,Mug,,1200,,,,,,,\n"
    )
    ok("products", "import", str(products), env=pg_env, cwd=tmp_path)
    rows = [line.split(",") for line in export(pg_env, tmp_path, "catalog.csv").splitlines()[1:]]
    tee_id, size_id = rows[0][1], rows[1][1]

    one = tmp_path / "one.json"
    one.write_text(json.dumps({"product_id": tee_id, "version": 1, "definition": definition(size_id)}))
    done = ok("templates", "import", str(one), env=pg_env, cwd=tmp_path)
    assert f"version 1 of product {tee_id}, the default" in done.stdout
    assert "imported" in done.stdout and "1 template" in done.stdout

    many = tmp_path / "many.json"
    many.write_text(
        json.dumps(
            [
                {"product_slug": "tee", "version": 2, "definition": definition(size_id), "is_default": True},
                {"product_slug": "mug", "version": 1, "definition": definition()},
                {"product_slug": "mug", "version": 2, "definition": definition(), "is_default": False},
            ]
        )
    )
    assert "3 templates" in ok("templates", "import", str(many), env=pg_env, cwd=tmp_path).stdout

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {"product_slug": "mug", "version": 3, "definition": definition()},  # fine: not stored either
                {"product_slug": "mug", "version": 2, "definition": definition(width=500)},
                {"product_slug": "cup", "version": 1, "definition": definition()},
            ]
        )
    )
    result = run("templates", "import", str(bad), env=pg_env, cwd=tmp_path)
    container = container_of(pg_env, tmp_path)
    try:
        mug = next(
            p
            for p in (
                await container.use_cases.catalog().list_products(include_inactive=True, after=None, limit=10)
            ).items
            if p.slug == "mug"
        )
        assert_rejected(
            result,
            [
                f"templates[1]: version: product {mug.id} has a version 2 already",
                "templates[1]: definition.zones[0].area: zone 'line': "
                "the area reaches outside the 100×100 canvas",
                "templates[2]: product_slug: there is no product 'cup'",
            ],
        )
        catalog = container.use_cases.catalog()
        tee_versions = await catalog.list_templates(
            tee_id, include_inactive=True, before_version=None, limit=10
        )
        mug_versions = await catalog.list_templates(
            mug.id, include_inactive=True, before_version=None, limit=10
        )
        assert [(t.version, t.is_default) for t in tee_versions.items] == [(2, True), (1, False)]
        assert [(t.version, t.is_default) for t in mug_versions.items] == [(2, False), (1, True)]
    finally:
        await close(container)

    assert "not JSON" in run("templates", "import", str(products), env=pg_env, cwd=tmp_path).stderr
