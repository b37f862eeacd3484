"""Typed, layered settings: defaults < harness.toml (or ``[tool.o2c-harness]`` in pyproject)
< ``HARNESS_*`` environment (nested with ``__``) < CLI flags. Validated once, passed down.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    AnyUrl,
    BaseModel,
    ConfigDict,
    Field,
    UrlConstraints,
    ValidationError,
    create_model,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    PyprojectTomlConfigSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

import simulators
from simulators._kit import PROFILES, FaultConfig, FaultRule, SimulatorConfig

from .canonical.secrets import HINT, Secret, builtin_secret, inline_secrets, secret_path
from .errors import ConfigError
from .layer_tls import LayerTlsSettings

DEFAULT_CONFIG_FILE = Path("harness.toml")


def _simulators_model() -> type[BaseModel]:
    """One field per registered simulator, typed by that simulator's own Config."""
    fields: dict[str, Any] = {}
    for name in simulators.names():
        cls = simulators.config_class(name) if simulators.is_available(name) else SimulatorConfig
        default = cls(port=simulators.default_port(name))
        fields[name] = (cls, Field(default_factory=default.model_copy))
    model: type[BaseModel] = create_model(
        "SimulatorsSettings", __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


SimulatorsSettings = _simulators_model()


class IntegrationSettings(BaseModel):
    """Where the system under test is (the reference integration layer by default)."""

    model_config = ConfigDict(extra="forbid")
    url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8100")
    serve: bool = Field(default=True, description="`harness up` also starts the reference "
                        "integration layer, on the port of `url`, wired to the simulators")
    database_url: str | None = Field(default=None, description="the reference layer's "
                                     "database; default: SQLite under state_dir")
    client_id: str | None = Field(default="o2c-harness", min_length=1, max_length=200,
                                  description="OAuth2 client of the harness at the layer's "
                                              "API (none: call it without a token)")
    client_secret: Secret = Field(
        default=builtin_secret("test-o2c-harness-client-secret"),
        description="that client's secret (the default is the local landscape's test value)")
    token_url: AnyHttpUrl | None = Field(default=None, description="the OAuth2 token "
                                         "endpoint; default: <url>/oauth/token")
    scope: str | None = Field(default=None, description="scopes to ask for (space-separated); "
                                                        "default: all the client may have")
    bus_url: Annotated[AnyUrl, UrlConstraints(allowed_schemes=["amqp", "amqps"],
                                              host_required=True)] | None = Field(
        default=None, description="the reference layer publishes its business events to this "
                                  "RabbitMQ (amqp://user:pass@host:5672/); none: in-process")
    bus_exchange: str = Field(default="o2c.events", min_length=1, max_length=200,
                              description="the layer's topic exchange on bus_url")
    job_concurrency: int | None = Field(
        default=None, ge=1, le=10_000, description="the reference layer's background jobs "
        "(webhook work) at once; none: the layer's default (4). More covers slower vendors, "
        "fewer keeps the posting latency of a month end's burst low (bench/RESULTS.md)")
    tls: LayerTlsSettings = Field(default_factory=LayerTlsSettings,
                                  description="optional (mutual) TLS between the harness and "
                                              "the layer (harness.layer_tls)")

    @property
    def token_endpoint(self) -> str:
        return str(self.token_url) if self.token_url else \
            str(self.url).rstrip("/") + "/oauth/token"


class LatencySla(BaseModel):
    """Thresholds (milliseconds) on one business latency; unset ones are not checked."""

    model_config = ConfigDict(extra="forbid")
    p50_ms: float | None = Field(default=None, gt=0)
    p90_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    max_ms: float | None = Field(default=None, gt=0)

    def thresholds(self) -> dict[str, float]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SlaSettings(BaseModel):
    """What ``harness load`` enforces: a breach fails the run with one line per SLA.

    ``error_rate`` is failed / all requests (HTTP and business events) of the run."""

    model_config = ConfigDict(extra="forbid")
    invoice_posting: LatencySla = Field(default_factory=LatencySla)
    payment_update: LatencySla = Field(default_factory=LatencySla)
    error_rate: float | None = Field(default=None, ge=0, le=1)


class HarnessSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HARNESS_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )
    host: Literal["127.0.0.1", "::1", "localhost", "0.0.0.0"] = "127.0.0.1"
    state_dir: Path = Path(".harness")
    report_dir: Path = Path("reports")
    tls: bool = False
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    simulators: SimulatorsSettings = Field(default_factory=SimulatorsSettings)  # type: ignore[valid-type]
    integration: IntegrationSettings = Field(default_factory=IntegrationSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    fault_profiles: dict[str, list[FaultRule]] = Field(
        default_factory=dict,
        description="named fault profiles of your own, usable like the built-in ones",
    )

    def simulator(self, name: str) -> SimulatorConfig:
        config = getattr(self.simulators, name)
        assert isinstance(config, SimulatorConfig)
        return config

    def resolved_faults(self, name: str) -> FaultConfig | None:
        """A simulator's start-up faults with a profile of this file expanded into rules."""
        faults = self.simulator(name).faults
        if faults is None or faults.profile is None or faults.profile in PROFILES:
            return faults
        rules = [*self.fault_profiles[faults.profile], *faults.rules]
        return FaultConfig(seed=faults.seed, profile=None, rules=rules)

    @property
    def ca_dir(self) -> Path:
        return self.state_dir / "ca"


def _format(exc: ValidationError, origin: str) -> ConfigError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    value = first.get("input")
    hidden = isinstance(value, dict) or secret_path(HarnessSettings, tuple(first["loc"]))
    shown = "" if hidden else f" = {value!r}"
    if first["type"] == "extra_forbidden":
        message = f"unknown setting {where!r} in {origin}"
        hint = "check the spelling; `harness config` prints every setting with its value"
    else:
        message = f"invalid setting {where}{shown}: {first['msg']}"
        env = "HARNESS_" + "__".join(str(p).upper() for p in first["loc"])
        hint = f"fix it in {origin} (or {env})"
    more = len(exc.errors()) - 1
    if more:
        hint += f"; {more} more problem(s) after this one"
    return ConfigError(message, hint)


def _refuse_inline_secrets(data: Mapping[str, Any], origin: str) -> None:
    """A secret written into a settings file ends up in version control: a file may name it
    (``env:VAR``, ``file:/path``) or carry a value marked as a test value (``test:...``)."""
    for where in inline_secrets(data, HarnessSettings):
        raise ConfigError(f"inline secret at {where} in {origin}", HINT)


def _check_env_names(environ: Mapping[str, str]) -> None:
    """pydantic-settings ignores unknown top-level HARNESS_* names; a typo should not pass."""
    fields = set(HarnessSettings.model_fields)
    for name in environ:
        if name.startswith("HARNESS_"):
            head = name[len("HARNESS_"):].split("__")[0].lower()
            if head not in fields:
                raise ConfigError(f"unknown setting in environment variable {name}",
                                  f"known top-level settings: {', '.join(sorted(fields))}")


def load_settings(config_file: Path | None = None, environ: Mapping[str, str] | None = None,
                  **overrides: Any) -> HarnessSettings:
    """Settings from every layer; ``overrides`` are the CLI flags (highest precedence).

    ``config_file`` defaults to ./harness.toml when present, else ``[tool.o2c-harness]`` in
    ./pyproject.toml when present.
    """
    explicit = config_file is not None
    path = config_file or DEFAULT_CONFIG_FILE
    if explicit and not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found",
                          "pass an existing file to --config, or drop the flag to use defaults")
    origin = str(path) if path.is_file() else "the environment"
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}",
                              "see https://toml.io for the syntax") from None
        _refuse_inline_secrets(data, str(path))
    elif Path("pyproject.toml").is_file():
        try:
            tool = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8")).get("tool")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"pyproject.toml is not valid TOML: {exc}",
                              "see https://toml.io for the syntax") from None
        table = tool.get("o2c-harness") if isinstance(tool, dict) else None
        if isinstance(table, dict):
            _refuse_inline_secrets(table, "pyproject.toml [tool.o2c-harness]")

    class _Layered(HarnessSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if path.is_file():
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            elif Path("pyproject.toml").is_file():
                sources.append(PyprojectTomlConfigSettingsSource(
                    settings_cls, Path("pyproject.toml")))
            return tuple(sources)

    if not path.is_file() and Path("pyproject.toml").is_file():
        _Layered.model_config = {**HarnessSettings.model_config,
                                 "pyproject_toml_table_header": ("tool", "o2c-harness")}
    _check_env_names(environ if environ is not None else os.environ)
    try:
        settings = _Layered(**overrides)
    except ValidationError as exc:
        raise _format(exc, origin if path.is_file() or explicit else
                      "HARNESS_* environment or flags") from None
    known = set(PROFILES) | set(settings.fault_profiles)
    for name in simulators.names():
        faults = settings.simulator(name).faults
        if faults is not None and faults.profile is not None and faults.profile not in known:
            raise ConfigError(f"simulators.{name}.faults.profile: unknown fault profile "
                              f"{faults.profile!r}",
                              f"use one of {', '.join(sorted(known))} or define it under "
                              f"[fault_profiles] in {origin}")
    return settings
