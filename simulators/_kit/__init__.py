"""The simulator kit: what every simulated vendor system is built from."""

from .app import Call, Endpoint, Kit, Simulator, build_app
from .base import (
    Backend,
    BadImportRecord,
    IdFactory,
    ImportBatch,
    ImportRequest,
    SeedRequest,
    SimContext,
    SimulatorConfig,
    SimulatorError,
    UnknownImportKind,
    import_instant,
)
from .clock import Clock
from .data import LEGAL_SUFFIX, LOCALE_COUNTRY, make_faker, rng, vat_id
from .facts import FactLog
from .faults import PROFILES, FaultConfig, FaultDecision, FaultPlan, FaultRule, Latency
from .http import JSONResponse, is_digits, json_response
from .prepared import PreparedJSONResponse, header_value
from .server import PortInUseError, Served, ThreadedServer, bind, serve_all, serve_in_thread
from .store import Collection, SQLiteStore, StateStore, open_store
from .tls import TLSFiles, ensure_ca, ensure_server_cert
from .webhooks import Delivery, RetryPolicy, WebhookDispatcher, WebhookResponse

__all__ = [
    "LEGAL_SUFFIX",
    "LOCALE_COUNTRY",
    "PROFILES",
    "Backend",
    "BadImportRecord",
    "Call",
    "Clock",
    "Collection",
    "Delivery",
    "Endpoint",
    "FactLog",
    "FaultConfig",
    "FaultDecision",
    "FaultPlan",
    "FaultRule",
    "IdFactory",
    "ImportBatch",
    "ImportRequest",
    "JSONResponse",
    "Kit",
    "Latency",
    "PortInUseError",
    "PreparedJSONResponse",
    "RetryPolicy",
    "SQLiteStore",
    "SeedRequest",
    "Served",
    "SimContext",
    "Simulator",
    "SimulatorConfig",
    "SimulatorError",
    "StateStore",
    "TLSFiles",
    "ThreadedServer",
    "UnknownImportKind",
    "WebhookDispatcher",
    "WebhookResponse",
    "bind",
    "build_app",
    "ensure_ca",
    "ensure_server_cert",
    "header_value",
    "import_instant",
    "is_digits",
    "json_response",
    "make_faker",
    "open_store",
    "rng",
    "serve_all",
    "serve_in_thread",
    "vat_id",
]
