"""Alembic environment: configured from code (review.db.upgrade), no alembic.ini needed.

`upgrade(engine)` hands in an open connection; `alembic -x url=...` style use falls back to the URL option.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from prescreen.review.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database to migrate: run `prescreen db upgrade` (it reads DATABASE_URL) or pass a URL")
    with create_engine(url).connect() as connection:
        run_migrations(connection)
