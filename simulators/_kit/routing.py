"""Starlette's router, with routes indexed by their leading literal path segments.

Starlette tries every route's regex in order until one matches, so a simulator with ~80
routes paid for ~35 regex matches on ``GET /v1/invoices/{id}`` and ~80 on every
``/_sim/await`` long-poll. This router first tries only the routes that can match the
request's first two path segments (plus routes it cannot index), in their original order,
and falls back to Starlette's full scan when none of them matches fully, so 404, 405 and
trailing-slash redirects behave exactly as before.
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
        self._indexed = (id(self.routes), len(self.routes))

    def candidates(self, route_path: str) -> list[BaseRoute]:
        # routes are only ever appended to (add_route, mount): re-index when the list grew
        if self._indexed != (id(self.routes), len(self.routes)):
            self._index()
        return self._by_key.get(_path_key(route_path), self._unkeyed)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if "router" not in scope:
                scope["router"] = self
            for route in self.candidates(get_route_path(scope)):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        # no full match among the candidates (or not http): Starlette's own logic decides
        await super().app(scope, receive, send)
