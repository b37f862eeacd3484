"""HTTPS and optional mutual TLS for the layer's own listener (``[tls]`` of the layer's
settings, ``O2C_TLS__*`` in the environment).

With ``cert_file``/``key_file`` the layer serves HTTPS; with ``client_ca_file`` too, every
client must present a certificate issued by that CA (``ssl.CERT_REQUIRED``): a client without
one, or with one from another CA, fails the TLS handshake before any HTTP is read. That holds
for *every* caller of the listener, webhook senders included. Whatever serves the app applies
these options: ``harness integration serve`` / ``harness up`` (through the simulators' kit),
or ``uvicorn`` with :meth:`TlsSettings.uvicorn_options` as its ``--ssl-*`` options.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class TlsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cert_file: Path | None = Field(default=None, description="the layer's server certificate "
                                   "(PEM, chain included); set: the layer serves HTTPS")
    key_file: Path | None = Field(default=None, description="its private key (PEM)")
    client_ca_file: Path | None = Field(
        default=None, description="mutual TLS: clients must present a certificate issued by "
                                  "this CA (PEM); unset: no client certificate is asked for")

    @model_validator(mode="after")
    def _complete(self) -> TlsSettings:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("tls.cert_file and tls.key_file go together")
        if self.client_ca_file is not None and self.cert_file is None:
            raise ValueError("tls.client_ca_file (mutual TLS) needs tls.cert_file and "
                             "tls.key_file (the layer's own certificate)")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None

    @property
    def mutual(self) -> bool:
        return self.client_ca_file is not None

    def check_files(self) -> None:
        """Fail early, with the path, when a configured file is missing or unreadable."""
        for what, path in (("cert_file", self.cert_file), ("key_file", self.key_file),
                           ("client_ca_file", self.client_ca_file)):
            if path is not None and not path.is_file():
                raise ValueError(f"tls.{what}: no such file {path}")

    def uvicorn_options(self) -> dict[str, Any]:
        """``uvicorn.Config`` keyword arguments for this listener (empty: plain HTTP)."""
        if not self.enabled:
            return {}
        options: dict[str, Any] = {"ssl_certfile": str(self.cert_file),
                                   "ssl_keyfile": str(self.key_file)}
        if self.mutual:
            options.update(ssl_ca_certs=str(self.client_ca_file),
                           ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options
