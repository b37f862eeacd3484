"""Structured JSON logs (structlog; every line carries the correlation id) and Prometheus
metrics of the business: postings, payments, holds, webhooks, adapter calls.
"""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from harness.canonical.redact import install_logging_filter, structlog_processor


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr: timestamp, level, logger, event, correlation id, fields; e-mail,
    phone, card data and tax ids redacted from every field and traceback (the stdlib loggers of
    the server too)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog_processor,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    install_logging_filter("uvicorn", "uvicorn.error", "uvicorn.access", "integration")


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]


class Metrics:
    """One registry per app (no globals): tests and several apps in one process stay apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.webhooks = Counter("o2c_webhooks_total", "Webhooks received",
                                ["source", "outcome"], registry=r)
        self.outbound = Counter("o2c_outbound_requests_total", "Calls to the systems",
                                ["system", "status"], registry=r)
        self.retries = Counter("o2c_outbound_retries_total", "Retried outbound calls",
                               ["system"], registry=r)
        self.postings = Counter("o2c_invoices_posted_total", "Invoices posted to an ERP",
                                ["erp"], registry=r)
        self.payments = Counter("o2c_payments_applied_total", "Payments applied",
                                ["erp"], registry=r)
        self.exceptions = Counter("o2c_exceptions_total", "Business exceptions recorded",
                                  ["kind"], registry=r)
        self.held = Gauge("o2c_invoices_held", "Invoices held (tax or ERP customer pending)",
                          registry=r)
        self.buffered = Gauge("o2c_payments_buffered", "Payments waiting for their invoice "
                              "to be posted", registry=r)
        self.jobs_running = Gauge("o2c_jobs_running", "Background jobs (webhook work) "
                                  "running, at most job_concurrency", registry=r)
        self.jobs_waiting = Gauge("o2c_jobs_waiting", "Background jobs waiting for a slot "
                                  "of the pool", registry=r)
        self.posting_latency = Histogram(
            "o2c_invoice_posting_seconds", "Billing finalized → ERP posted, as seen by the layer",
            registry=r, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))
