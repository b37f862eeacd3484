"""What every simulator is made of: its config, its error root, its backend and its context.

A simulator package defines
- ``Config(SimulatorConfig)``: its settings (port, credentials, ...);
- errors deriving from :class:`SimulatorError` that render the vendor's error body;
- ``Backend(Backend)``: all state and behaviour, no HTTP (``models.py``);
- ``Simulator`` subclass wiring endpoints, auth and the vendor's fault responses (``app.py``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
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

    def to_response(self) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


class SeedRequest(BaseModel):
    """Body of ``POST /_sim/seed``."""

    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    size: Annotated[int, Field(ge=0, le=100_000)] = 50
    locales: list[str] = Field(default_factory=lambda: ["en_US", "de_DE", "fr_FR", "en_GB"])
    dirtiness: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


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
        num = int.from_bytes(digest, "big")
        chars = []
        for _ in range(length):
            num, rem = divmod(num, 62)
            chars.append(_B62[rem])
        return f"{prefix}{sep}{''.join(chars)}" if prefix else "".join(chars)

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
