"""Starlette's router, with routes indexed by their leading literal path segments.

Starlette tries every route's regex in order until one matches, so a simulator with ~80
routes paid for ~35 regex matches on ``GET /v1/invoices/{id}`` and ~80 on every
``/_sim/await`` long-poll. This router first tries only the routes that can match the
request's first two path segments and serve its method (plus routes it cannot index), in
their original order, and falls back to Starlette's full scan when none of them matches
fully, so 404, 405 and trailing-slash redirects behave exactly as before.
"""

from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send


def _path_key(path: str) -> str:
    """``/v1/invoices/in_1/pay`` → ``/v1/invoices``: the first two segments."""
    return "/".join(path.split("/", 3)[:3])


def _route_key(route: BaseRoute) -> str | None:
    """The key every path this route matches has, or None when it has none (a parameter in
    the first two segments, a mount, a host route)."""
    if not isinstance(route, Route):
        return None
    key = _path_key(route.path)
    return None if "{" in key else key


class IndexedRouter(Router):
    """A :class:`starlette.routing.Router` that tries the likely routes first."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._indexed: tuple[int, int] | None = None  # (id, length) of the indexed list
        self._by_key: dict[str, list[BaseRoute]] = {}
        self._unkeyed: list[BaseRoute] = []
        self._literal: set[int] = set()
        # (method, key) → the routes of ``_by_key[key]`` that can match ``method`` fully: a
        # route of another method only ever matches partially (a 405 decided by the fallback)
        self._by_method: dict[tuple[str, str | None], list[BaseRoute]] = {}

    def _index(self) -> None:
        by_key: dict[str, list[BaseRoute]] = {}
        unkeyed: list[BaseRoute] = []
        for route in self.routes:
            key = _route_key(route)
            if key is None:  # may match anything: a candidate under every key, in order
                unkeyed.append(route)
                for candidates in by_key.values():
                    candidates.append(route)
            else:
                by_key.setdefault(key, list(unkeyed)).append(route)
        self._by_key, self._unkeyed = by_key, unkeyed
        # plain routes without path parameters (by id: routes compare by value): their
        # regex is ^path$, so a path that differs cannot match them
        self._literal = {id(r) for r in self.routes
                         if isinstance(r, Route) and not r.param_convertors}
        self._by_method = {}
        self._indexed = (id(self.routes), len(self.routes))

    def candidates(self, route_path: str, method: str | None = None) -> list[BaseRoute]:
        """The routes that may match ``route_path`` fully (for ``method`` when given)."""
        # routes are only ever appended to (add_route, mount): re-index when the list grew
        if self._indexed != (id(self.routes), len(self.routes)):
            self._index()
        key: str | None = _path_key(route_path)
        if key not in self._by_key:
            key = None  # every unindexed path has the same candidates (bounded cache)
        if method is None:
            return self._unkeyed if key is None else self._by_key[key]
        found = self._by_method.get((method, key))
        if found is None:
            found = [r for r in (self._unkeyed if key is None else self._by_key[key])
                     if not isinstance(r, Route) or r.methods is None or method in r.methods]
            if len(self._by_method) < 1024:  # methods are client-chosen tokens: stay bounded
                self._by_method[(method, key)] = found
        return found

    def full_match(self, scope: Scope) -> BaseRoute | None:
        """The route Starlette would hand this http request to, with ``scope`` updated as
        Starlette's router updates it; None when no candidate matches fully."""
        route_path = get_route_path(scope)
        for route in self.candidates(route_path, scope["method"]):
            if id(route) in self._literal and route.path != route_path:  # type: ignore[attr-defined]
                continue  # a route without parameters matches its own path only
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                return route
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "router" not in scope:
                scope["router"] = self
            route = self.full_match(scope)
            if route is not None:
                await route.handle(scope, receive, send)
                return
        # no full match among the candidates (or not http): Starlette's own logic decides
        await super().app(scope, receive, send)
