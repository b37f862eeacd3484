"""A fresh PostgreSQL schema per test run, for the layer's tests on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from o2c_landscape import postgres_url


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A database URL on a fresh schema of the local PostgreSQL, dropped afterwards (None when
    PostgreSQL does not answer: the caller skips with the reason)."""
    url = postgres_url()
    if url is None:
        yield None
        return
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"o2c_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


POSTGRES_SKIP = ("PostgreSQL not reachable on 127.0.0.1:5432 (trust auth, database 'test', "
                 "user postgres or root)")
