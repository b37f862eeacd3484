"""State stores: documents (JSON-able dicts) in named collections.

``MemoryStore`` is the default. ``SQLiteStore`` writes through to a SQLite file (WAL) so a
simulator's state survives a restart; it keeps the same in-memory index for reads, so the
read path costs the same in both.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

Document = dict[str, Any]


class Collection:
    """An insertion-ordered mapping of id → document."""

    def __init__(self, store: StateStore, name: str) -> None:
        self._store = store
        self.name = name
        self._docs: dict[str, Document] = {}

    def get(self, doc_id: str) -> Document | None:
        return self._docs.get(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    def __len__(self) -> int:
        return len(self._docs)

    def put(self, doc_id: str, doc: Document) -> Document:
        self._docs[doc_id] = doc
        self._store._written(self.name, doc_id, doc)
        return doc

    def delete(self, doc_id: str) -> Document | None:
        doc = self._docs.pop(doc_id, None)
        if doc is not None:
            self._store._written(self.name, doc_id, None)
        return doc

    def values(self) -> Iterator[Document]:
        return iter(list(self._docs.values()))

    def items(self) -> Iterator[tuple[str, Document]]:
        return iter(list(self._docs.items()))

    def ids(self) -> list[str]:
        return list(self._docs)

    def _load(self, doc_id: str, doc: Document) -> None:
        self._docs[doc_id] = doc


class StateStore:
    """In-memory store; subclasses persist writes."""

    kind = "memory"

    def __init__(self) -> None:
        self._collections: dict[str, Collection] = {}

    def collection(self, name: str) -> Collection:
        coll = self._collections.get(name)
        if coll is None:
            coll = self._collections[name] = Collection(self, name)
        return coll

    def snapshot(self) -> dict[str, dict[str, Document]]:
        # collections by name: the order they were first touched in depends on when a
        # background tick ran, and equal states must give equal snapshot bytes
        return {name: dict(coll._docs) for name, coll in sorted(self._collections.items())
                if len(coll)}

    def restore(self, snapshot: dict[str, dict[str, Document]]) -> None:
        self.clear()
        for name, docs in snapshot.items():
            coll = self.collection(name)
            for doc_id, doc in docs.items():
                coll.put(doc_id, doc)
        self.flush()

    def clear(self) -> None:
        self._collections.clear()

    def _written(self, collection: str, doc_id: str, doc: Document | None) -> None:
        """Hook for persistent stores; ``doc`` None means deleted."""

    def flush(self) -> None:
        """Make pending writes durable (no-op in memory)."""

    def close(self) -> None:
        self.flush()


class SQLiteStore(StateStore):
    """Write-through store on a SQLite file; pending writes are committed by ``flush``.

    The app factory flushes after every request that wrote, so an acknowledged write is
    durable, and a restart with the same file sees the same state.
    """

    kind = "sqlite"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL, id TEXT NOT NULL,"
            " seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (collection, id))"
        )
        self._pending: dict[tuple[str, str], Document | None] = {}
        self._seq = 0
        for name, doc_id, seq, body in self._db.execute(
            "SELECT collection, id, seq, body FROM documents ORDER BY seq"
        ):
            self.collection(name)._load(doc_id, orjson.loads(body))
            self._seq = max(self._seq, seq)

    def _written(self, collection: str, doc_id: str, doc: Document | None) -> None:
        self._pending[(collection, doc_id)] = doc

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self._pending.clear()
            self._db.execute("DELETE FROM documents")

    def flush(self) -> None:
        if not self._pending:
            return
        with self._lock:
            pending, self._pending = self._pending, {}
            self._db.execute("BEGIN")
            try:
                for (collection, doc_id), doc in pending.items():
                    if doc is None:
                        self._db.execute("DELETE FROM documents WHERE collection=? AND id=?",
                                         (collection, doc_id))
                        continue
                    existing = self._db.execute(
                        "SELECT seq FROM documents WHERE collection=? AND id=?",
                        (collection, doc_id),
                    ).fetchone()
                    if existing is None:
                        self._seq += 1
                        seq = self._seq
                    else:
                        seq = existing[0]
                    self._db.execute(
                        "INSERT OR REPLACE INTO documents (collection, id, seq, body)"
                        " VALUES (?, ?, ?, ?)",
                        (collection, doc_id, seq, orjson.dumps(doc)),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                self._pending = {**pending, **self._pending}
                raise

    def close(self) -> None:
        self.flush()
        self._db.close()


def open_store(url: str) -> StateStore:
    """``memory`` or ``sqlite:///relative/or/absolute/path.db``."""
    if url in ("", "memory", "memory://"):
        return StateStore()
    if url.startswith("sqlite:///"):
        return SQLiteStore(url[len("sqlite:///") :])
    raise ValueError(f"unknown store {url!r}: use 'memory' or 'sqlite:///path/to/file.db'")
