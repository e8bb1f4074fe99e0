"""The ``customshop`` command run as a user runs it: a real subprocess, a real database (contract §7-§8).

Every failure must be one line on stderr starting with ``error:`` and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.integration.processes import assert_one_line_error, finish, ok, one_line_error, run, start

DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def key_row(listing: str, key_id: str) -> str:
    rows = [line for line in listing.splitlines() if key_id in line]
    assert len(rows) == 1, listing
    return rows[0]


# -- apikey ----------------------------------------------------------------------------------------


def test_apikey_create_list_revoke(cli_env: dict[str, str], tmp_path: Path) -> None:
    ok("db", "upgrade", env=cli_env, cwd=tmp_path)

    created = ok(
        "apikey", "create", "--name", "ops", "--scope", "catalog:write", "--scope", "orders:read",
        env=cli_env, cwd=tmp_path,
    )  # fmt: skip
    secret = created.stdout.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"csk_\S{20,}", secret), f"the key must be alone on the last line:\n{created.stdout}"
    assert created.stderr == ""
    announced = re.search(r"created API key (\S+) \(ops\)", created.stdout)
    assert announced, created.stdout
    key_id = announced.group(1)
    other = ok("apikey", "create", "--name", "reports", "--scope", "reports:read", env=cli_env, cwd=tmp_path)
    other_secret = other.stdout.splitlines()[-1]
    assert other_secret.startswith("csk_")
    assert other_secret != secret

    listing = ok("apikey", "list", env=cli_env, cwd=tmp_path).stdout
    assert secret not in listing, "a secret is shown once, at creation"
    assert other_secret not in listing
    row = key_row(listing, key_id)
    assert "ops" in row
    assert "catalog:write orders:read" in row, f"every scope is listed, whole:\n{listing}"
    assert len(DATE.findall(row)) == 1, "a fresh key has a creation date and no revocation date"
    assert "reports" in listing

    revoked = ok("apikey", "revoke", key_id, env=cli_env, cwd=tmp_path)
    assert key_id in revoked.stdout

    after = ok("apikey", "list", env=cli_env, cwd=tmp_path).stdout
    assert secret not in after
    assert len(DATE.findall(key_row(after, key_id))) == 2, f"the key is not shown revoked:\n{after}"
    assert_one_line_error(run("apikey", "revoke", "no-such-key", env=cli_env, cwd=tmp_path), "no-such-key")


def test_apikey_create_refuses_bad_input(cli_env: dict[str, str], tmp_path: Path) -> None:
    ok("db", "upgrade", env=cli_env, cwd=tmp_path)
    unknown_scope = run(
        "apikey", "create", "--name", "ops", "--scope", "catalog:delete", env=cli_env, cwd=tmp_path
    )
    assert_one_line_error(unknown_scope, "catalog:delete")
    empty_name = run("apikey", "create", "--name", "", "--scope", "admin", env=cli_env, cwd=tmp_path)
    assert_one_line_error(empty_name, "name")
    assert "ops" not in ok("apikey", "list", env=cli_env, cwd=tmp_path).stdout, "nothing may be created"


# -- configuration and database errors -------------------------------------------------------------


@dataclass
class Case:
    """A command that must fail with one line naming ``fragments``."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    fragments: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("unknown variable", ["db", "current"], {"CUSTOMSHOP_TAX_RATE": "5"}, ["CUSTOMSHOP_TAX_RATE "]),
    Case("malformed int", ["db", "current"], {"CUSTOMSHOP_TAX_RATE_BPS": "abc"}, ["CUSTOMSHOP_TAX_RATE_BPS"]),
    Case(
        "out of range", ["apikey", "list"], {"CUSTOMSHOP_TAX_RATE_BPS": "20000"}, ["CUSTOMSHOP_TAX_RATE_BPS"]
    ),
    Case("bad currency", ["db", "upgrade"], {"CUSTOMSHOP_CURRENCY": "dollars"}, ["CUSTOMSHOP_CURRENCY"]),
    Case(
        "bad boolean", ["db", "current"], {"CUSTOMSHOP_RATE_LIMIT_ENABLED": "maybe"}, ["RATE_LIMIT_ENABLED"]
    ),
    Case("mysql", ["db", "upgrade"], {"CUSTOMSHOP_DATABASE_URL": "mysql://root@127.0.0.1/shop"}, ["mysql"]),
    Case(
        "unreachable postgres",
        ["db", "current"],
        {"CUSTOMSHOP_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
        ["database"],
    ),
    Case(
        "unreachable postgres, serve",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"},
        ["database"],
    ),
    Case(
        "unknown variable, serve",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_TAX_RATE": "5"},
        ["CUSTOMSHOP_TAX_RATE"],
    ),
    Case("serve unmigrated", ["serve", "--port", "1"], {}, ["customshop db upgrade"]),
    Case("purge unmigrated", ["purge"], {}, ["customshop db upgrade"]),
    Case(
        "idempotency keys kept less than promised",
        ["purge", "--dry-run"],
        {"CUSTOMSHOP_RETENTION_IDEMPOTENCY_HOURS": "12"},
        ["CUSTOMSHOP_RETENTION_IDEMPOTENCY_HOURS", "24"],
    ),
    # A partial payment configuration stops start-up, naming what is missing.
    Case(
        "stripe key without webhook secret",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_STRIPE_SECRET_KEY": "sk_test_x"},
        ["Stripe", "CUSTOMSHOP_STRIPE_WEBHOOK_SECRET is missing"],
    ),
    Case(
        "stripe webhook secret without key",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_STRIPE_WEBHOOK_SECRET": "whsec_x"},
        ["CUSTOMSHOP_STRIPE_SECRET_KEY is missing"],
    ),
    Case(
        "stripe api base alone",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_STRIPE_API_BASE": "http://127.0.0.1:1"},
        ["CUSTOMSHOP_STRIPE_SECRET_KEY, CUSTOMSHOP_STRIPE_WEBHOOK_SECRET are missing"],
    ),
    Case(
        "paypal without its webhook id",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_PAYPAL_CLIENT_ID": "id", "CUSTOMSHOP_PAYPAL_CLIENT_SECRET": "secret"},
        ["PayPal", "CUSTOMSHOP_PAYPAL_WEBHOOK_ID is missing"],
    ),
    Case(
        "paypal return url alone",
        ["serve", "--port", "1"],
        {"CUSTOMSHOP_PAYPAL_RETURN_URL": "https://shop.example/back"},
        ["CUSTOMSHOP_PAYPAL_CLIENT_ID", "set: CUSTOMSHOP_PAYPAL_RETURN_URL"],
    ),
    Case("downgrade an empty database", ["db", "downgrade", "-1"]),
    Case(
        "config file with an unknown key",
        ["db", "current"],
        {"CUSTOMSHOP_CONFIG": "conf/settings.toml"},
        ["tax_rate"],
        {"conf/settings.toml": 'currency = "EUR"\ntax_rate = 5\n'},
    ),
    Case(
        "config file that is not TOML",
        ["db", "current"],
        {"CUSTOMSHOP_CONFIG": "conf/settings.toml"},
        ["settings.toml"],
        {"conf/settings.toml": "currency = \n[[[ not toml\n"},
    ),
    Case(
        "config file that is missing",
        ["db", "current"],
        {"CUSTOMSHOP_CONFIG": "nowhere.toml"},
        ["nowhere.toml"],
    ),
    Case(
        "config file value of the wrong type",
        ["db", "current"],
        {},
        ["TAX_RATE_BPS"],
        {"customshop.toml": 'tax_rate_bps = "lots"\n'},
    ),
]


def test_every_failure_is_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    """Each case runs in a working directory of its own; they run side by side (each is a cold start)."""
    running = []
    for number, case in enumerate(CASES):
        cwd = tmp_path / f"case{number}"
        cwd.mkdir()
        for name, text in case.files.items():
            (cwd / name).parent.mkdir(parents=True, exist_ok=True)
            (cwd / name).write_text(text)
        env = cli_env | {"CUSTOMSHOP_DATA_DIR": str(cwd / "var")} | case.env
        running.append((case, start(*case.args, env=env, cwd=cwd)))
    problems = []
    for case, proc in running:
        result = finish(proc, tuple(case.args), timeout=90)
        problems += [f"[{case.name}] {problem}" for problem in one_line_error(result, *case.fragments)]
    assert not problems, "\n".join(problems)


def test_serve_refuses_an_unmigrated_postgres_database(
    cli_env: dict[str, str], tmp_path: Path, fresh_postgres_url: str
) -> None:
    env = cli_env | {"CUSTOMSHOP_DATABASE_URL": fresh_postgres_url}
    assert_one_line_error(
        run("serve", "--port", "1", env=env, cwd=tmp_path, timeout=30), "customshop db upgrade"
    )


def test_serve_refuses_an_incomplete_tls_configuration(cli_env: dict[str, str], tmp_path: Path) -> None:
    ok("db", "upgrade", env=cli_env, cwd=tmp_path)
    cert = tmp_path / "cert.pem"
    cert.write_text("not really a certificate\n")
    half = run("serve", "--port", "1", "--tls-cert", str(cert), env=cli_env, cwd=tmp_path, timeout=30)
    assert_one_line_error(half, "--tls-key")
    missing = run(
        "serve", "--port", "1", "--tls-cert", str(cert), "--tls-key", str(tmp_path / "nope.pem"),
        env=cli_env, cwd=tmp_path, timeout=30,
    )  # fmt: skip
    assert_one_line_error(missing, "nope.pem")


async def _old_emails(data_dir: str, sent: int) -> None:
    """``sent`` emails sent 40 days ago, and one pending as long, in the embedded database."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from customshop.adapters.system import UuidV7Ids
    from customshop.domain.emails import EmailDelivery
    from customshop.entrypoints.container import build_container, close
    from customshop.entrypoints.settings import Settings

    ids = UuidV7Ids()
    at = datetime.now(UTC) - timedelta(days=40)
    pending = EmailDelivery(
        ids.new_id(), "order_confirmation", ids.new_id(), ids.new_id(), 1, "pending", at, None, at, at
    )
    container = build_container(Settings(data_dir=data_dir))
    try:
        async with container.adapters.uow() as uow:
            await uow.emails.add(pending)
            for _ in range(sent):
                await uow.emails.add(replace(pending, id=ids.new_id(), event_id=ids.new_id(), status="sent"))
            await uow.commit()
    finally:
        await close(container)


async def test_purge_counts_and_deletes(cli_env: dict[str, str], tmp_path: Path) -> None:
    ok("db", "upgrade", env=cli_env, cwd=tmp_path)
    await _old_emails(cli_env["CUSTOMSHOP_DATA_DIR"], sent=3)
    env = cli_env | {"CUSTOMSHOP_RETENTION_WEBHOOK_LOGS_DAYS": "0"}
    dry = ok("purge", "--dry-run", env=env, cwd=tmp_path).stdout.splitlines()
    assert dry == [
        "outbox: would delete 0",
        "webhook_deliveries: would delete 0",
        "webhook_logs: kept forever",
        "emails: would delete 3",
        "idempotency: would delete 0",
        "guest_keys: would delete 0",
    ]
    assert "emails: would delete 3" in ok("purge", "--dry-run", env=env, cwd=tmp_path).stdout
    done = ok("purge", env=env, cwd=tmp_path).stdout.splitlines()
    assert done[3] == "emails: deleted 3" and done[2] == "webhook_logs: kept forever"
    # The pending email is never purged, however old.
    assert "emails: would delete 0" in ok("purge", "--dry-run", env=env, cwd=tmp_path).stdout
    kept = ok("purge", env=cli_env | {"CUSTOMSHOP_RETENTION_EMAILS_DAYS": "0"}, cwd=tmp_path).stdout
    assert "emails: kept forever" in kept


def test_db_upgrade_current_and_downgrade(cli_env: dict[str, str], tmp_path: Path) -> None:
    current = ok("db", "current", env=cli_env, cwd=tmp_path).stdout
    assert "database at revision base" in current
    newest = re.search(r"newest: (\w+)", current)
    assert newest, current
    head = newest.group(1)

    assert f"database at revision {head}" in ok("db", "upgrade", env=cli_env, cwd=tmp_path).stdout
    assert (tmp_path / "var" / "customshop.db").is_file()

    # A relative target is an argument, not an (unknown) option.
    stepped = ok("db", "downgrade", "-1", env=cli_env, cwd=tmp_path).stdout
    assert stepped.startswith("database at revision ")
    assert head not in stepped
    assert f"database at revision {head}" in ok("db", "upgrade", env=cli_env, cwd=tmp_path).stdout

    assert_one_line_error(run("db", "downgrade", "-99", env=cli_env, cwd=tmp_path), "migration")
    assert_one_line_error(
        run("db", "downgrade", "no-such-revision", env=cli_env, cwd=tmp_path), "no-such-revision"
    )
    assert "revision base" in ok("db", "downgrade", "base", env=cli_env, cwd=tmp_path).stdout
    assert_one_line_error(run("db", "downgrade", "-1", env=cli_env, cwd=tmp_path))
    assert "revision base" in ok("db", "current", env=cli_env, cwd=tmp_path).stdout


# -- settings precedence ---------------------------------------------------------------------------


def test_config_file_in_the_working_directory_is_read(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env.items() if k != "CUSTOMSHOP_DATA_DIR"}
    (tmp_path / "customshop.toml").write_text('data_dir = "elsewhere"\n')
    ok("db", "upgrade", env=env, cwd=tmp_path)
    assert (tmp_path / "elsewhere" / "customshop.db").is_file()
    assert not (tmp_path / "var").exists()


def test_environment_overrides_the_config_file(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "customshop.toml").write_text('data_dir = "elsewhere"\n')
    env = cli_env | {"CUSTOMSHOP_DATA_DIR": str(tmp_path / "from-env")}
    ok("db", "upgrade", env=env, cwd=tmp_path)
    assert (tmp_path / "from-env" / "customshop.db").is_file()
    assert not (tmp_path / "elsewhere").exists()
    # An empty variable means "not set": the file decides again.
    ok("db", "upgrade", env=env | {"CUSTOMSHOP_DATA_DIR": ""}, cwd=tmp_path)
    assert (tmp_path / "elsewhere" / "customshop.db").is_file()


def test_explicit_config_file_replaces_the_working_directory_one(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in cli_env.items() if k != "CUSTOMSHOP_DATA_DIR"}
    (tmp_path / "customshop.toml").write_text('data_dir = "elsewhere"\n')
    chosen = tmp_path / "conf" / "shop.toml"
    chosen.parent.mkdir()
    chosen.write_text(f'data_dir = "{tmp_path / "chosen"}"\n')
    ok("db", "upgrade", env=env | {"CUSTOMSHOP_CONFIG": str(chosen)}, cwd=tmp_path)
    assert (tmp_path / "chosen" / "customshop.db").is_file()
    assert not (tmp_path / "elsewhere").exists()


def test_two_working_directories_never_share_state(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in cli_env.items() if k != "CUSTOMSHOP_DATA_DIR"}
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    ok("db", "upgrade", env=env, cwd=first)
    ok("apikey", "create", "--name", "only-in-first", "--scope", "admin", env=env, cwd=first)
    assert (first / "var" / "customshop.db").is_file()
    # The second directory has no database of its own yet: nothing of the first shows through.
    assert_one_line_error(run("apikey", "list", env=env, cwd=second))
    assert "only-in-first" in ok("apikey", "list", env=env, cwd=first).stdout


# -- orders ----------------------------------------------------------------------------------------


async def _place_an_order(data_dir: str) -> str:
    """An order placed through the use cases, in the embedded database the CLI will read."""
    from customshop.adapters.sqlalchemy import migrate
    from customshop.application.checkout import CheckoutRequest
    from customshop.entrypoints.container import build_container, close
    from customshop.entrypoints.demo import seed_demo_catalog
    from customshop.entrypoints.settings import Settings
    from tests.builders import ADDRESS

    container = build_container(Settings(data_dir=data_dir))
    try:
        await migrate.upgrade(container.adapters.engine())
        (tee, *_) = await seed_demo_catalog(container.use_cases.catalog())
        view = await container.use_cases.carts().add_design(None, tee.id, {"size": "M"}, 2)
        placed = await container.use_cases.checkout().place(
            view.session_key, CheckoutRequest("ada@example.com", ADDRESS, "test")
        )
        await container.use_cases.orders().settle_test_payment(placed.payment.payment_id, succeed=True)
        return placed.order_id
    finally:
        await close(container)


async def test_orders_list_show_and_advance(cli_env: dict[str, str], tmp_path: Path) -> None:
    order_id = await _place_an_order(cli_env["CUSTOMSHOP_DATA_DIR"])

    listed = ok("orders", "list", env=cli_env, cwd=tmp_path)
    (row,) = [line for line in listed.stdout.splitlines() if order_id in line]
    assert "paid" in row and "3800 USD" in row and "ada@example.com" in row
    assert order_id not in ok("orders", "list", "--status", "shipped", env=cli_env, cwd=tmp_path).stdout

    shown = ok("orders", "show", order_id, env=cli_env, cwd=tmp_path).stdout
    assert f"order {order_id}: paid" in shown
    assert "2 × Classic T-shirt (template v1) at 1900 USD = 3800 USD" in shown
    assert re.search(r"\d{4}-\d{2}-\d{2} \S+  created\n.*  paid", shown)
    assert "print file pending" in shown

    # Production waits for the print files; `orders reprint` renders them (in this process, embedded).
    early = run("orders", "advance", order_id, "in_production", env=cli_env, cwd=tmp_path)
    assert_one_line_error(early, "print file")
    reprinted = ok("orders", "reprint", order_id, env=cli_env, cwd=tmp_path)
    assert "Classic T-shirt: print file ready" in reprinted.stdout
    shown = ok("orders", "show", order_id, env=cli_env, cwd=tmp_path).stdout
    assert re.search(r"print file ready /print-files/\S+", shown)
    assert_one_line_error(
        run("orders", "reprint", "no-such-order", env=cli_env, cwd=tmp_path), "no-such-order"
    )

    for status in ("in_production", "fulfilled"):
        moved = ok("orders", "advance", order_id, status, env=cli_env, cwd=tmp_path)
        assert f"order {order_id} is now {status}" in moved.stdout
    ok(
        "orders", "advance", order_id, "shipped", "--tracking-url", "https://track.example.com/9",
        env=cli_env, cwd=tmp_path,
    )  # fmt: skip
    assert (
        "tracking  https://track.example.com/9"
        in ok("orders", "show", order_id, env=cli_env, cwd=tmp_path).stdout
    )

    assert_one_line_error(
        run("orders", "advance", order_id, "paid", env=cli_env, cwd=tmp_path), "cannot become paid"
    )
    assert_one_line_error(run("orders", "advance", order_id, "lost", env=cli_env, cwd=tmp_path), "STATUS")
    assert_one_line_error(run("orders", "show", "nope", env=cli_env, cwd=tmp_path), "no order 'nope'")
    assert_one_line_error(run("orders", "list", "--status", "x", env=cli_env, cwd=tmp_path), "--status")


# -- webhooks --------------------------------------------------------------------------------------


async def _a_failed_delivery(data_dir: str, url: str) -> str:
    """An order whose events went to an endpoint that answered 500, in the embedded database."""
    from customshop.adapters.jobs.inprocess import InProcessJobQueue
    from customshop.entrypoints.container import build_container, close
    from customshop.entrypoints.settings import Settings

    order_id = await _place_an_order(data_dir)  # migrates, seeds, places and pays
    settings = Settings(data_dir=data_dir, webhook_allow_private_networks=True, webhook_retry_schedule=())
    container = build_container(settings)
    try:
        await container.use_cases.webhooks().create_endpoint(url, ["order.paid"])
        await container.use_cases.outbox_relay().relay()
        queue = container.adapters.queue()
        assert isinstance(queue, InProcessJobQueue)
        await queue.drain()
    finally:
        await close(container)
    return order_id


async def test_webhooks_list_and_retry(cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.integration.standins.webhook_receiver import WebhookReceiver

    with WebhookReceiver.running() as receiver:
        receiver.answer_with(500)
        await _a_failed_delivery(cli_env["CUSTOMSHOP_DATA_DIR"], receiver.url)
        assert len(receiver.requests) == 1  # the schedule is empty: no retry of its own

        env = cli_env | {"CUSTOMSHOP_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
        listed = ok("webhooks", "list", env=env, cwd=tmp_path).stdout
        (row,) = [line for line in listed.splitlines() if "order.paid" in line]
        delivery_id = row.split()[1] if row.startswith("│") else row.split()[0]
        assert re.fullmatch(r"[0-9a-f-]{36}", delivery_id), row
        assert " 500 " in row

        retried = ok("webhooks", "retry", delivery_id, env=env, cwd=tmp_path)
        assert f"delivery {delivery_id} is being sent again" in retried.stdout
        assert len(receiver.requests) == 2
        assert receiver.requests[0].headers["webhook-id"] == receiver.requests[1].headers["webhook-id"]
        rows = [
            line
            for line in ok("webhooks", "list", env=env, cwd=tmp_path).stdout.splitlines()
            if "order.paid" in line
        ]
        assert len(rows) == 2 and " 204 " in rows[0]  # newest first

    assert_one_line_error(
        run("webhooks", "retry", "nope", env=env, cwd=tmp_path), "no webhook delivery 'nope'"
    )
