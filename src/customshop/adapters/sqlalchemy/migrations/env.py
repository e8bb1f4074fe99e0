"""Alembic environment. Migrations run on a connection handed over by ``customshop db ...``
(see ``adapters/sqlalchemy/migrate.py``), never on one this file opens itself."""

from __future__ import annotations

from alembic import context

from customshop.adapters.sqlalchemy.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `customshop db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
