"""What every simulator is made of: its config, its error root, its backend and its context.

A simulator package defines
- ``Config(SimulatorConfig)``: its settings (port, credentials, ...);
- errors deriving from :class:`SimulatorError` that render the vendor's error body;
- ``Backend(Backend)``: all state and behaviour, no HTTP (``models.py``);
- ``Simulator`` subclass wiring endpoints, auth and the vendor's fault responses (``app.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from .clock import Clock
from .facts import FactLog
from .faults import FaultConfig, FaultPlan
from .store import StateStore
from .webhooks import WebhookDispatcher

if TYPE_CHECKING:
    from .app import Simulator

Port = Annotated[int, Field(ge=0, le=65535, description="TCP port; 0 picks a free one")]
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_PAIRS = [_B62[i % 62] + _B62[i // 62] for i in range(62 * 62)]  # two digits, low first
_B62_4 = 62**4


def _base62_low_first(num: int, length: int) -> str:
    """The ``length`` lowest base-62 digits of ``num``, least significant first.

    Four digits per big-int division (then a table of digit pairs): ids are minted on every
    create, and digit-by-digit division of a 128-bit number was most of their cost.
    """
    parts = []
    left = length
    while left >= 4:
        num, chunk = divmod(num, _B62_4)
        high, low = divmod(chunk, 3844)
        parts.append(_B62_PAIRS[low])
        parts.append(_B62_PAIRS[high])
        left -= 4
    for _ in range(left):
        num, rem = divmod(num, 62)
        parts.append(_B62[rem])
    return "".join(parts)


class SimulatorConfig(BaseModel):
    """Settings every simulator has; simulators subclass it with their own fields."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    enabled: bool = True
    port: Port = 0
    store: str = Field(default="memory", description="'memory' or 'sqlite:///path.db'")
    seed: int = Field(default=0, description="seed for ids and generated data")
    tick_interval_s: Annotated[float, Field(gt=0, le=3600)] = 1.0
    webhook_max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    faults: FaultConfig | None = Field(
        default=None, description="fault rules active from start-up (same body as PUT /_sim/faults)"
    )


class SimulatorError(Exception):
    """Root of every vendor error; ``to_response`` renders the vendor's own error body."""

    status: int = 400

    def to_response(self) -> Response:
        """Vendor subclasses override this; the fallback is a plain JSON error."""
        from .http import json_response

        return json_response({"error": {"message": str(self) or type(self).__name__}},
                             self.status)


class SeedRequest(BaseModel):
    """Body of ``POST /_sim/seed``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    size: Annotated[int, Field(ge=0, le=100_000)] = 50
    locales: list[str] = Field(default_factory=lambda: ["en_US", "de_DE", "fr_FR", "en_GB"])

    @field_validator("locales")
    @classmethod
    def _supported(cls, value: list[str]) -> list[str]:
        from .data import LOCALE_COUNTRY  # an unknown locale is a 422, not a crash in Faker

        unknown = [loc for loc in value if loc not in LOCALE_COUNTRY]
        if unknown:
            raise ValueError(f"unsupported locale(s) {unknown}; supported: "
                             f"{sorted(LOCALE_COUNTRY)}")
        return value
    dirtiness: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class ImportBatch(BaseModel):
    """One kind of records for ``POST /_sim/import``, in the vendor's own wire shape."""

    model_config = ConfigDict(extra="forbid")
    kind: Annotated[str, Field(min_length=1, max_length=100)]
    records: Annotated[list[dict[str, Any]], Field(max_length=100_000)]


class ImportRequest(BaseModel):
    """Body of ``POST /_sim/import``: ``{kind, records}`` or ``{batches: [{kind, records}]}``.

    A record may carry ``_at`` (epoch seconds): it is created as of that instant (history),
    through the backend's own creation code. Batches are applied in order; after them the
    simulator runs what is due (``tick``), as after a clock advance.
    """

    model_config = ConfigDict(extra="forbid")
    kind: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    records: Annotated[list[dict[str, Any]], Field(max_length=100_000)] | None = None
    batches: Annotated[list[ImportBatch], Field(max_length=100)] | None = None

    def all_batches(self) -> list[ImportBatch]:
        single = [ImportBatch(kind=self.kind, records=self.records or [])] if self.kind else []
        return single + list(self.batches or [])


class UnknownImportKind(Exception):
    """``POST /_sim/import`` named a kind this simulator does not import."""

    def __init__(self, kind: str, supported: Sequence[str]) -> None:
        super().__init__(f"unknown import kind {kind!r}; this simulator imports: "
                         f"{', '.join(supported) or 'nothing'}")
        self.kind = kind
        self.supported = list(supported)


class BadImportRecord(Exception):
    """A record's import envelope (not its vendor content) is wrong, e.g. a bad ``_at``."""


def import_instant(value: Any, where: str) -> float:
    """An ``_at`` value: epoch seconds between 1970 and 3000."""
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not 0 <= value <= 32_503_680_000:
        raise BadImportRecord(f"{where} must be epoch seconds between 1970 and 3000")
    return float(value)


class IdFactory:
    """Deterministic, restart-safe ids: a hash of (seed, prefix, counter) in base62.

    The counters live in the store, so a simulator restored from SQLite never reissues an id.
    """

    def __init__(self, store: StateStore, seed: int) -> None:
        self._store = store
        self.seed = seed

    def new(self, prefix: str, length: int = 14, sep: str = "_") -> str:
        meta = self._store.collection("_meta")
        counters = meta.get("id_counters") or {}
        n = counters.get(prefix, 0) + 1
        counters[prefix] = n
        meta.put("id_counters", counters)
        digest = hashlib.blake2b(f"{self.seed}:{prefix}:{n}".encode(), digest_size=16).digest()
        body = _base62_low_first(int.from_bytes(digest, "big"), length)
        return f"{prefix}{sep}{body}" if prefix else body

    def sequence(self, name: str, start: int = 1) -> int:
        """Next value of a named counter (document numbers and the like)."""
        meta = self._store.collection("_meta")
        seqs = meta.get("sequences") or {}
        n = seqs.get(name, start - 1) + 1
        seqs[name] = n
        meta.put("sequences", seqs)
        return n


class SimContext:
    """Everything a backend may touch: clock, store, ids, facts, webhooks, faults."""

    def __init__(self, *, simulator: Simulator, config: SimulatorConfig, store: StateStore) -> None:
        self.config = config
        self.clock = Clock()
        self.store = store
        self.ids = IdFactory(store, config.seed)
        self.facts = FactLog(store, self.clock)
        self.faults = FaultPlan()
        self.webhooks = WebhookDispatcher(
            clock=self.clock,
            faults=self.faults,
            signer=simulator.sign_webhook,
            accept=simulator.webhook_accepted,
        )
        self.webhooks.retry.max_attempts = config.webhook_max_attempts


class Backend:
    """State and behaviour of one simulated system; no HTTP in here.

    Documents are dicts in ``ctx.store`` collections; mutate a document, then ``put`` it back
    so persistent stores see the write.
    """

    name: ClassVar[str] = "simulator"

    def __init__(self, ctx: SimContext) -> None:
        self.ctx = ctx

    @property
    def clock(self) -> Clock:
        return self.ctx.clock

    @property
    def config(self) -> Any:
        return self.ctx.config

    def reset(self) -> None:
        """Forget all state (the store is already cleared); re-create fixed reference data."""

    def seed(self, request: SeedRequest) -> dict[str, int]:
        """Generate realistic data; return counts per object type."""
        return {}

    def tick(self, now: float) -> None:
        """Time moved (periodic tick or clock advance): run due state transitions."""

    # -- import ----------------------------------------------------------------------------
    import_kinds: ClassVar[tuple[str, ...]] = ()

    def import_records(self, kind: str, records: list[dict[str, Any]]) -> dict[str, int]:
        """Create ``records`` of ``kind`` (vendor wire shape) as the vendor API would, with
        historic timestamps; return counts per object type. Bad records raise the vendor's
        error (records before it stay imported)."""
        raise UnknownImportKind(kind, self.import_kinds)

    def import_each(self, kind: str, records: list[dict[str, Any]],
                    create: Callable[[dict[str, Any]], Any]) -> int:
        """Run ``create`` per record, as of its ``_at`` when given; tags a failure with the
        record's position (``kind[i]``) for the admin API."""
        for i, record in enumerate(records):
            body = dict(record)
            at = body.pop("_at", None)
            try:
                if at is None:
                    create(body)
                else:
                    with self.clock.pinned(import_instant(at, f"{kind}[{i}]._at")):
                        create(body)
            except SimulatorError as err:
                err.import_at = f"{kind}[{i}]"  # type: ignore[attr-defined]
                raise
        return len(records)
