"""Fault injection: seeded, composable rules per route pattern, and the named profiles.

A plan is a list of rules evaluated in order for each request. Latency adds up; the first
rule that fires a terminal action (error, rate limit, timeout, reset, outage) decides the
response, which the simulator renders in its vendor's error shape. Webhook rules act on
deliveries instead of requests. One ``random.Random(seed)`` drives every draw, so the same
seed and the same request order give the same faults.
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FaultKind = Literal[
    "latency",
    "error",
    "rate_limit",
    "timeout",
    "reset",
    "outage",
    "webhook_duplicate",
    "webhook_out_of_order",
    "webhook_delay",
]
REQUEST_KINDS = {"latency", "error", "rate_limit", "timeout", "reset", "outage"}
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Latency(BaseModel):
    """A latency distribution in milliseconds."""

    model_config = ConfigDict(extra="forbid")
    distribution: Literal["fixed", "normal", "long_tail"] = "fixed"
    ms: Annotated[float, Field(ge=0, le=120_000)] = 100.0
    sigma_ms: Annotated[float, Field(ge=0, le=60_000)] = 0.0
    tail_ms: Annotated[float, Field(ge=0, le=120_000)] = 0.0
    tail_probability: Probability = 0.0

    def draw(self, rng: random.Random) -> float:
        """Seconds to wait."""
        if self.distribution == "fixed":
            ms = self.ms
        elif self.distribution == "normal":
            ms = max(0.0, rng.gauss(self.ms, self.sigma_ms))
        else:  # long_tail: mostly around ms, sometimes around tail_ms (lognormal-ish)
            base = max(0.0, rng.gauss(self.ms, self.sigma_ms))
            ms = base + (self.tail_ms * rng.lognormvariate(0, 0.5)
                         if rng.random() < self.tail_probability else 0.0)
        return min(ms, 120_000.0) / 1000.0


class FaultRule(BaseModel):
    """One fault: what, where (route glob and methods), how often, and when (outage window)."""

    model_config = ConfigDict(extra="forbid")
    kind: FaultKind
    route: str = Field(default="*", description="glob over the request path, e.g. /v1/invoices*")
    methods: list[str] | None = Field(default=None, description="HTTP methods; all when absent")
    probability: Probability = 1.0
    status: Annotated[int, Field(ge=400, le=599)] = 500
    latency: Latency | None = None
    retry_after_s: Annotated[float, Field(ge=0, le=3600)] = 1.0
    timeout_s: Annotated[float, Field(ge=0, le=300)] = 30.0
    start_in_s: Annotated[float, Field(ge=0, le=86_400 * 365)] | None = Field(
        default=None, description="outage window start, relative to the simulator clock at PUT"
    )
    duration_s: Annotated[float, Field(gt=0, le=86_400 * 365)] | None = None
    start_at: float | None = Field(default=None, description="absolute window start (sim clock)")
    end_at: float | None = Field(default=None, description="absolute window end (sim clock)")
    delay_ms: Annotated[float, Field(ge=0, le=600_000)] = 1000.0

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.kind == "latency" and self.latency is None:
            raise ValueError("a latency rule needs 'latency'")
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in {m.upper() for m in self.methods}:
            return False
        return self.route in ("*", "") or fnmatch.fnmatchcase(path, self.route)

    def in_window(self, now: float) -> bool:
        if self.start_at is not None and now < self.start_at:
            return False
        return not (self.end_at is not None and now >= self.end_at)


class FaultConfig(BaseModel):
    """Body of ``PUT /_sim/faults``: a named profile, explicit rules, or both (profile first)."""

    model_config = ConfigDict(extra="forbid")
    # bounded: it is echoed back as JSON (a seed past 64 bits was a 500, found fuzzing), and
    # the JSON parser reads an integer past 64 bits as a float, exact only up to 2**53
    seed: int = Field(0, ge=-(2**53), le=2**53)
    profile: str | None = None
    rules: list[FaultRule] = Field(default_factory=list)


@dataclass
class FaultDecision:
    delay_s: float = 0.0
    action: str | None = None  # error | rate_limit | timeout | reset | outage
    status: int = 0
    retry_after_s: float = 0.0
    timeout_s: float = 0.0
    rules: list[str] = field(default_factory=list)


@dataclass
class WebhookFault:
    duplicate: bool = False
    out_of_order: bool = False
    delay_s: float = 0.0


def _lat(dist: str, ms: float, sigma: float = 0.0, tail: float = 0.0, p: float = 0.0) -> Latency:
    return Latency(distribution=dist, ms=ms, sigma_ms=sigma, tail_ms=tail, tail_probability=p)  # type: ignore[arg-type]


def _profiles() -> dict[str, list[FaultRule]]:
    webhook_chaos = [
        FaultRule(kind="webhook_duplicate", probability=0.3),
        FaultRule(kind="webhook_out_of_order", probability=0.3),
        FaultRule(kind="webhook_delay", probability=0.3, delay_ms=1500),
    ]
    return {
        "none": [],
        "flaky": [
            FaultRule(kind="latency", latency=_lat("normal", 40, 15)),
            FaultRule(kind="error", status=503, probability=0.05),
            FaultRule(kind="error", status=500, probability=0.02),
            FaultRule(kind="reset", probability=0.01),
        ],
        "slow-erp": [FaultRule(kind="latency", latency=_lat("long_tail", 250, 80, 1500, 0.05))],
        "rate-limited": [FaultRule(kind="rate_limit", probability=0.2, retry_after_s=1.0)],
        "outage": [FaultRule(kind="outage", status=503, start_in_s=0, duration_s=10)],
        "webhook-chaos": webhook_chaos,
        "chaos": [
            FaultRule(kind="latency", latency=_lat("long_tail", 30, 10, 800, 0.03)),
            FaultRule(kind="error", status=503, probability=0.05),
            FaultRule(kind="rate_limit", probability=0.05, retry_after_s=0.5),
            FaultRule(kind="reset", probability=0.01),
            *webhook_chaos,
        ],
    }


PROFILES: dict[str, list[FaultRule]] = _profiles()


class UnknownProfileError(ValueError):
    pass


class FaultPlan:
    """The active rules of one simulator and the seeded generator behind them."""

    def __init__(self) -> None:
        self.config = FaultConfig()
        self.rules: list[FaultRule] = []
        self._rng = random.Random(0)
        self.injected: dict[str, int] = {}

    @property
    def active(self) -> bool:
        return bool(self.rules)

    def configure(self, config: FaultConfig, now: float) -> None:
        rules: list[FaultRule] = []
        if config.profile is not None:
            if config.profile not in PROFILES:
                raise UnknownProfileError(
                    f"unknown fault profile {config.profile!r}; "
                    f"known: {', '.join(sorted(PROFILES))}"
                )
            rules.extend(r.model_copy(deep=True) for r in PROFILES[config.profile])
        rules.extend(r.model_copy(deep=True) for r in config.rules)
        for rule in rules:  # relative windows become absolute on the simulator clock
            if rule.start_in_s is not None and rule.start_at is None:
                rule.start_at = now + rule.start_in_s
                if rule.duration_s is not None:
                    rule.end_at = rule.start_at + rule.duration_s
        self.config = config
        self.rules = rules
        self._rng = random.Random(config.seed)
        self.injected = {}

    def clear(self) -> None:
        self.configure(FaultConfig(), 0.0)

    def _fires(self, rule: FaultRule) -> bool:
        return rule.probability >= 1.0 or self._rng.random() < rule.probability

    def decide(self, method: str, path: str, now: float) -> FaultDecision:
        decision = FaultDecision()
        for rule in self.rules:
            if rule.kind not in REQUEST_KINDS or not rule.matches(method, path):
                continue
            if not rule.in_window(now) or not self._fires(rule):
                continue
            if rule.kind == "latency":
                assert rule.latency is not None
                decision.delay_s += rule.latency.draw(self._rng)
                decision.rules.append("latency")
                continue
            if decision.action is None:
                decision.action = rule.kind
                decision.status = 429 if rule.kind == "rate_limit" else rule.status
                if rule.kind == "timeout":
                    decision.status = 504
                decision.retry_after_s = rule.retry_after_s
                decision.timeout_s = rule.timeout_s
                decision.rules.append(rule.kind)
        for name in decision.rules:
            self.injected[name] = self.injected.get(name, 0) + 1
        return decision

    def webhook(self, path: str, now: float) -> WebhookFault:
        fault = WebhookFault()
        for rule in self.rules:
            if not rule.kind.startswith("webhook_") or not rule.matches("POST", path):
                continue
            if not rule.in_window(now) or not self._fires(rule):
                continue
            if rule.kind == "webhook_duplicate":
                fault.duplicate = True
            elif rule.kind == "webhook_out_of_order":
                fault.out_of_order = True
            else:
                fault.delay_s += self._rng.uniform(0, rule.delay_ms) / 1000.0
            self.injected[rule.kind] = self.injected.get(rule.kind, 0) + 1
        return fault

    def uniform(self, a: float, b: float) -> float:
        return self._rng.uniform(a, b)

    def describe(self) -> dict[str, object]:
        return {
            "seed": self.config.seed,
            "profile": self.config.profile,
            "rules": [r.model_dump(exclude_none=True) for r in self.rules],
            "injected": dict(self.injected),
        }
