"""A small client of the Pact Broker's HTTP API (pact-foundation/pact_broker; PactFlow speaks
the same): publish pacts with the consumer version, its branch and tags, and ask the matrix
whether a version can be deployed. (Verifying pacts *from* a broker, with consumer version
selectors and publishing the results, is done by the Pact verifier itself: see
:class:`harness.contracts.BrokerOptions`.)

Endpoints used:
- ``PUT /pacts/provider/{provider}/consumer/{consumer}/version/{version}`` — the pact;
- ``PUT /pacticipants/{consumer}/branches/{branch}/versions/{version}`` — the version's branch;
- ``PUT /pacticipants/{consumer}/versions/{version}/tags/{tag}`` — tags;
- ``GET /matrix?q[][pacticipant]=…&q[][version]=…&latestby=cvp&latest=true&environment=…``
  (or ``&tag=…``) — can-i-deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from .contracts import DeployCheck, DeployDecision, PactSource
from .errors import ContractError


def _segment(value: str) -> str:
    return quote(value, safe="")


@dataclass
class Published:
    consumer: str
    provider: str
    version: str
    url: str
    tags: list[str] = field(default_factory=list)
    branch: str | None = None


class PactBroker:
    def __init__(self, url: str, *, token: str | None = None, username: str | None = None,
                 password: str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Accept": "application/hal+json, application/json"}
        auth: httpx.Auth | None = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif username:
            auth = httpx.BasicAuth(username, password or "")
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, headers=headers, auth=auth,
                                 timeout=timeout, transport=transport)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PactBroker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ContractError(f"Pact Broker at {self.url} unreachable: {exc}",
                                "check --broker-url and the network") from None
        if response.status_code in (401, 403):
            raise ContractError(f"Pact Broker refused {method} {path}: "
                                f"{response.status_code}", "check the broker token/credentials")
        if response.status_code >= 400:
            raise ContractError(f"Pact Broker: {method} {path} → {response.status_code}: "
                                f"{response.text[:300]}")
        return response

    def publish(self, sources: list[PactSource], consumer_version: str, *,
                branch: str | None = None, tags: list[str] | None = None) -> list[Published]:
        """Publish each pact under ``consumer_version``; record the version's branch and tags
        once per consumer."""
        done: list[Published] = []
        consumers: set[str] = set()
        for source in sources:
            path = (f"/pacts/provider/{_segment(source.provider)}/consumer/"
                    f"{_segment(source.consumer)}/version/{_segment(consumer_version)}")
            self._call("PUT", path, content=source.path.read_bytes(),
                       headers={"Content-Type": "application/json"})
            consumers.add(source.consumer)
            done.append(Published(source.consumer, source.provider, consumer_version,
                                  f"{self.url}{path}", list(tags or []), branch))
        for consumer in sorted(consumers):
            base = f"/pacticipants/{_segment(consumer)}"
            if branch:
                self._call("PUT", f"{base}/branches/{_segment(branch)}/versions/"
                                  f"{_segment(consumer_version)}", json={})
            for tag in tags or []:
                self._call("PUT", f"{base}/versions/{_segment(consumer_version)}/tags/"
                                  f"{_segment(tag)}", json={})
        return done

    def can_i_deploy(self, pacticipant: str, version: str, *, environment: str | None = None,
                     tag: str | None = None) -> DeployDecision:
        """The broker's matrix verdict for deploying ``pacticipant`` at ``version`` (to an
        environment, or alongside the latest versions carrying ``tag``)."""
        params: list[tuple[str, str]] = [("q[][pacticipant]", pacticipant),
                                         ("q[][version]", version),
                                         ("latestby", "cvp"), ("latest", "true")]
        if environment:
            params.append(("environment", environment))
        elif tag:
            params.append(("tag", tag))
        body = self._call("GET", "/matrix", params=params).json()
        summary = body.get("summary") or {}
        checks = []
        for row in body.get("matrix") or []:
            result = row.get("verificationResult") or {}
            success = result.get("success")
            verdict = "verified" if success is True else "failed" if success is False \
                else "unknown"
            consumer, provider = row.get("consumer", {}), row.get("provider", {})
            checks.append(DeployCheck(
                str(consumer.get("name")), str(provider.get("name")), verdict,
                f"consumer {(consumer.get('version') or {}).get('number')} / provider "
                f"{(provider.get('version') or {}).get('number')}"))
        deployable = summary.get("deployable") is True
        reason = str(summary.get("reason") or json.dumps(summary))
        return DeployDecision(pacticipant, deployable, reason, checks)


__all__ = ["PactBroker", "Published"]
