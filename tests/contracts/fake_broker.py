"""A tiny Pact Broker served in-process for the broker paths: the endpoints of the real
broker's HTTP API the harness and the Pact verifier call (HAL index, publish, pacts for
verification, verification results, branches/tags, the matrix). It records every request."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class BrokerState:
    pacts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    branches: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, ver) → branch
    tags: set[tuple[str, str, str]] = field(default_factory=set)
    results: list[dict[str, Any]] = field(default_factory=list)
    selectors: list[dict[str, Any]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    token: str = "broker-token"


def fake_broker(state: BrokerState) -> Starlette:
    def base(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.token}"

    async def log(request: Request) -> Response | None:
        state.requests.append(f"{request.method} {request.url.path}")
        if not authorised(request):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        return None

    async def index(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        return JSONResponse({"_links": {
            "pb:provider-pacts-for-verification": {
                "href": f"{base(request)}/pacts/provider/{{provider}}/for-verification",
                "templated": True}}}, media_type="application/hal+json")

    def pact_url(request: Request, provider: str, consumer: str, version: str) -> str:
        return f"{base(request)}/pacts/provider/{provider}/consumer/{consumer}/version/{version}"

    async def pact(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        p, c, v = (request.path_params[k] for k in ("provider", "consumer", "version"))
        if request.method == "PUT":
            created = (p, c, v) not in state.pacts
            state.pacts[(p, c, v)] = json.loads(await request.body())
            return JSONResponse({}, status_code=201 if created else 200)
        doc = state.pacts.get((p, c, v))
        if doc is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({**doc, "_links": {
            "self": {"href": pact_url(request, p, c, v)},
            "pb:provider": {"href": f"{base(request)}/pacticipants/{p}"},
            "pb:publish-verification-results": {
                "href": f"{pact_url(request, p, c, v)}/verification-results"}}},
            media_type="application/hal+json")

    async def for_verification(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        provider = request.path_params["provider"]
        if request.method == "GET":  # HAL navigation: the resource's own links
            return JSONResponse({"_links": {"self": {"href": str(request.url)}}},
                                media_type="application/hal+json")
        body = json.loads(await request.body() or b"{}")
        state.selectors.append(body)
        wanted = body.get("consumerVersionSelectors") or []
        branches = {s.get("branch") for s in wanted if s.get("branch")}
        main = any(s.get("mainBranch") for s in wanted)
        pacts = []
        for (p, c, v) in sorted(state.pacts):
            branch = state.branches.get((c, v))
            if p == provider and (branch in branches or (main and branch == "main")):
                pacts.append({"shortDescription": f"latest from {branch}",
                              "verificationProperties": {"pending": False, "notices": []},
                              "_links": {"self": {"href": pact_url(request, p, c, v),
                                                  "name": f"Pact between {c} ({v}) and {p}"}}})
        return JSONResponse({"_embedded": {"pacts": pacts}},
                            media_type="application/hal+json")

    async def results(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        p, c, v = (request.path_params[k] for k in ("provider", "consumer", "version"))
        state.results.append({"provider": p, "consumer": c, "consumer_version": v,
                              **json.loads(await request.body())})
        return JSONResponse({}, status_code=201)

    async def branch(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        state.branches[(request.path_params["name"], request.path_params["version"])] = \
            request.path_params["branch"]
        return JSONResponse({})

    async def pacticipant(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        me = f"{base(request)}/pacticipants/{request.path_params['name']}"
        return JSONResponse({"name": request.path_params["name"], "_links": {
            "self": {"href": me},
            "pb:branch-version": {"href": f"{me}/branches/{{branch}}/versions/{{version}}",
                                  "templated": True},
            "pb:version-tag": {"href": f"{me}/versions/{{version}}/tags/{{tag}}",
                               "templated": True}}}, media_type="application/hal+json")

    async def tag(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        state.tags.add((request.path_params["name"], request.path_params["version"],
                        request.path_params["tag"]))
        return JSONResponse({}, status_code=201)

    async def matrix(request: Request) -> Response:
        if (denied := await log(request)) is not None:
            return denied
        name = request.query_params.get("q[][pacticipant]")
        version = request.query_params.get("q[][version]")
        rows = []
        for (p, c, v) in sorted(state.pacts):
            if (c, v) != (name, version) and p != name:
                continue
            done = [r for r in state.results if (r["provider"], r["consumer"],
                                                 r["consumer_version"]) == (p, c, v)]
            last = done[-1] if done else None
            rows.append({"consumer": {"name": c, "version": {"number": v}},
                         "provider": {"name": p, "version": {
                             "number": last.get("providerApplicationVersion") if last
                             else None}},
                         "verificationResult": {"success": last["success"]} if last else None})
        failed = [r for r in rows if r["verificationResult"] and
                  not r["verificationResult"]["success"]]
        unknown = [r for r in rows if not r["verificationResult"]]
        deployable = bool(rows) and not failed and not unknown
        reason = ("All required verification results are published and successful"
                  if deployable else f"{len(failed)} failed, {len(unknown)} missing")
        return JSONResponse({"summary": {"deployable": deployable, "reason": reason,
                                         "success": len(rows) - len(failed) - len(unknown),
                                         "failed": len(failed), "unknown": len(unknown)},
                             "matrix": rows})

    return Starlette(routes=[
        Route("/", index),
        Route("/pacts/provider/{provider}/consumer/{consumer}/version/{version}", pact,
              methods=["GET", "PUT"]),
        Route("/pacts/provider/{provider}/consumer/{consumer}/version/{version}/"
              "verification-results", results, methods=["POST"]),
        Route("/pacts/provider/{provider}/for-verification", for_verification,
              methods=["GET", "POST"]),
        Route("/pacticipants/{name}", pacticipant),
        Route("/pacticipants/{name}/branches/{branch}/versions/{version}", branch,
              methods=["PUT"]),
        Route("/pacticipants/{name}/versions/{version}/tags/{tag}", tag, methods=["PUT"]),
        Route("/matrix", matrix),
    ])
