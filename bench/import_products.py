"""Time ``customshop products import`` of 100,000 products on PostgreSQL (not a test).

Writes a catalog CSV of N products (default 100,000) into a temporary folder: each product row has a
name, a description, a price and a currency, and, unless ``--products-only``, one media row and one
option set of three options under it (six rows per product). It then creates a PostgreSQL database
of its own (``customshop_bench_import_<pid>`` on ``TEST_POSTGRES_URL``, default 127.0.0.1:5432),
migrates it, and times, as real subprocesses (start-up, reading, checking, writing and commit
included):

1. ``customshop products import`` of the file into the empty database (every product new);
2. ``customshop products export`` of the whole catalog;
3. ``customshop products import`` of the exported file (every row found by id and unchanged).

The database is dropped at the end, whatever happens. Figures go to stdout; wall time is the figure
to read (the work is split between this machine's two cores: the command and PostgreSQL).

Run: ``.venv/bin/python bench/import_products.py [--products N] [--products-only]``
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from customshop.application.catalog_csv import COLUMNS

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CUSTOMSHOP = str(Path(sys.executable).with_name("customshop"))
DATABASE = f"customshop_bench_import_{os.getpid()}"


def write_catalog(path: Path, products: int, products_only: bool) -> int:
    """Write the CSV; returns its number of data rows."""
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)

        def put(**cells: str) -> None:
            writer.writerow([cells.get(column, "") for column in COLUMNS])

        for n in range(products):
            put(
                kind="product",
                slug=f"product-{n}",
                name=f"Product {n}",
                description=f"A customizable product, number {n}: cotton, 180 g/m², printed on demand.",
                base_price=str(500 + n % 10_000),
                currency="USD",
                active="true" if n % 10 else "false",
            )
            rows += 1
            if products_only:
                continue
            put(
                kind="media", url=f"https://cdn.example.com/products/{n}/front.jpg", alt=f"Product {n}, front"
            )
            put(kind="option_set", name="Size")
            for code, label, delta in (
                ("S", "Small", "0"),
                ("M", "Medium", "0"),
                ("XL", "Extra large", "200"),
            ):
                put(kind="option", code=code, label=label, price_delta=delta)
            rows += 5
    return rows


def timed(*args: str, env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([CUSTOMSHOP, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"customshop {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return elapsed, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--products-only", action="store_true", help="no media, option sets or options")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="customshop-bench-") as folder:
        cwd = Path(folder)
        csv_path = cwd / "products.csv"
        started = time.perf_counter()
        rows = write_catalog(csv_path, arguments.products, arguments.products_only)
        size = csv_path.stat().st_size
        print(
            f"generated {arguments.products:,} products in {rows:,} rows, {size / 1e6:.1f} MB, "
            f"in {time.perf_counter() - started:.1f} s"
        )
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMSHOP_")}
            env["CUSTOMSHOP_DATA_DIR"] = str(cwd / "var")
            env["CUSTOMSHOP_DATABASE_URL"] = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
            timed("db", "upgrade", env=env, cwd=cwd)

            seconds, said = timed("products", "import", str(csv_path), env=env, cwd=cwd)
            print(f"import into an empty database: {seconds:.1f} s ({rows / seconds:,.0f} rows/s)\n  {said}")
            exported = cwd / "exported.csv"
            seconds, said = timed("products", "export", str(exported), env=env, cwd=cwd)
            print(f"export: {seconds:.1f} s\n  {said}")
            seconds, said = timed("products", "import", str(exported), env=env, cwd=cwd)
            print(f"import of the export, every row unchanged: {seconds:.1f} s\n  {said}")
        finally:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
