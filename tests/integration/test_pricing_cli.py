"""``customshop promotions create|list|disable`` and ``customshop regions list`` run as a user runs
them: a real subprocess on the embedded database."""

from __future__ import annotations

from pathlib import Path

from customshop.adapters.sqlalchemy import migrate
from customshop.entrypoints.container import build_container, close
from customshop.entrypoints.demo import seed_demo_pricing
from customshop.entrypoints.settings import Settings
from tests.integration.processes import assert_one_line_error, ok, run


def rows(listing: str, fragment: str) -> list[str]:
    return [line for line in listing.splitlines() if fragment in line]


async def test_promotions_and_regions(cli_env: dict[str, str], tmp_path: Path) -> None:
    # The database and the demo's rules are made in process: each command costs seconds to start.
    container = build_container(Settings(data_dir=cli_env["CUSTOMSHOP_DATA_DIR"]))
    try:
        await migrate.upgrade(container.adapters.engine())
        await seed_demo_pricing(container.use_cases.pricing_rules())
    finally:
        await close(container)

    def customshop(*args: str) -> str:
        return ok(*args, env=cli_env, cwd=tmp_path).stdout

    created = customshop(
        "promotions", "create", "--code", "spring25", "--description", "25 % off in spring",
        "--kind", "percentage", "--value", "2500", "--usage-limit", "100",
        "--starts-at", "2027-03-01", "--ends-at", "2027-06-01T00:00:00+02:00",
    )  # fmt: skip
    assert "created promotion" in created and "(SPRING25)" in created
    bad = run(
        "promotions", "create", "--code", "x", "--description", "Broken", "--kind", "percentage",
        "--value", "20000", "--usage-limit", "0", "--starts-at", "2027-02-01", "--ends-at", "2027-01-01",
        env=cli_env, cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(bad, "--code", "--value", "--usage-limit", "--ends-at")

    assert "disabled promotion" in customshop("promotions", "disable", "welcome10")
    listing = customshop("promotions", "list")
    (spring,) = rows(listing, "SPRING25")
    assert "percentage" in spring and "25 %" in spring and "0 / 100" in spring and "yes" in spring
    assert "2027-03-01 00:00" in spring and "2027-05-31 22:00" in spring  # shown in UTC
    (welcome,) = rows(listing, "WELCOME10")
    assert "10 %" in welcome and " no " in welcome
    assert "Broken" not in listing  # nothing of the refused one

    listing = customshop("regions", "list")
    (us,) = rows(listing, "United States")
    assert "California sales tax 7.25 % in CA" in us and "New York sales tax 4 % in NY" in us
    assert "before tax" in us and "Express" in us and "Standard" in us
    (germany,) = rows(listing, "EU: Germany")
    assert "VAT 19 %" in germany and "include tax" in germany
    (world,) = rows(listing, "Rest of world")
    assert "International" in world and " GB " in world
    names = [n for n in ("EU: France", "EU: Germany", "Rest of world", "United States") if rows(listing, n)]
    assert len(names) == 4
    assert listing.index("EU: France") < listing.index("EU: Germany") < listing.index("United States")
