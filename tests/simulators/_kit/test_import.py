"""``POST /_sim/import``, ``PUT /_sim/clock`` and ``GET /_sim/snapshot/digest`` on a toy."""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.responses import Response
from starlette.testclient import TestClient

from simulators._kit import Backend, Simulator, SimulatorError, build_app, json_response


class ToyError(SimulatorError):
    status = 400

    def __init__(self, message: str) -> None:
        self.message = message

    def to_response(self) -> Response:
        return json_response({"toy_error": self.message}, self.status)


class ToyBackend(Backend):
    import_kinds = ("toys",)

    def create(self, record: dict[str, Any]) -> None:
        if not isinstance(record.get("name"), str):
            raise ToyError("name is required")
        doc = {"id": self.ctx.ids.new("toy"), "name": record["name"], "at": self.clock.now()}
        self.ctx.store.collection("toys").put(doc["id"], doc)

    def import_records(self, kind: str, records: list[dict[str, Any]]) -> dict[str, int]:
        if kind != "toys":
            return super().import_records(kind, records)
        return {"toys": self.import_each(kind, records, self.create)}

    def tick(self, now: float) -> None:
        self.ctx.store.collection("ticks").put("last", {"now": now})


class ToySimulator(Simulator):
    name = "toy"
    backend_class = ToyBackend


def toy() -> TestClient:
    return TestClient(build_app(ToySimulator()))


def test_import_creates_history_as_of_each_record_and_ticks_after() -> None:
    client = toy()
    before = client.get("/_sim/clock").json()["now"]
    r = client.post("/_sim/import", json={"batches": [
        {"kind": "toys", "records": [{"name": "old", "_at": 1_700_000_000}, {"name": "now"}]}]})
    assert r.status_code == 200 and r.json()["imported"] == {"toys": 2}
    toys = list(client.get("/_sim/snapshot").json()["state"]["toys"].values())
    assert toys[0]["at"] == 1_700_000_000.0
    assert toys[1]["at"] >= before  # no _at: created now; the clock is back where it was
    assert client.get("/_sim/clock").json()["now"] >= before
    assert "last" in client.get("/_sim/snapshot").json()["state"]["ticks"]


def test_bad_records_and_kinds() -> None:
    client = toy()
    r = client.post("/_sim/import", json={"kind": "toys", "records": [{"name": "a"}, {}]})
    assert r.status_code == 400 and r.json() == {"toy_error": "name is required"}
    assert r.headers["x-sim-import-failed-at"] == "toys[1]"
    r = client.post("/_sim/import", json={"kind": "gadgets", "records": []})
    assert r.status_code == 422 and r.json()["error"]["detail"] == {"supported": ["toys"]}
    r = client.post("/_sim/import", json={"kind": "toys", "records": [{"name": "a", "_at": -5}]})
    assert r.status_code == 422
    assert client.get("/openapi.json").json()["paths"]["/_sim/import"]["post"]["tags"] == \
        ["admin"]


def test_clock_can_be_frozen_at_an_instant_and_released() -> None:
    client = toy()
    r = client.put("/_sim/clock", json={"now": 1_767_225_600, "frozen": True})
    assert r.json() == {"now": 1_767_225_600.0, "offset": 0.0, "frozen": True}
    first = client.get("/_sim/snapshot").content
    assert client.get("/_sim/snapshot").content == first  # frozen: byte-identical
    digest = client.get("/_sim/snapshot/digest").json()
    assert digest["sha256"] == hashlib.sha256(first).hexdigest()
    assert digest["bytes"] == len(first)
    running = client.put("/_sim/clock", json={"now": 1_767_225_600}).json()
    assert running["frozen"] is False and running["now"] >= 1_767_225_600
    assert client.put("/_sim/clock", json={"now": -1}).status_code == 422


def test_equal_states_give_equal_snapshot_bytes_whatever_touched_a_collection_first() -> None:
    clients = [toy(), toy()]
    for client in clients:
        client.put("/_sim/clock", json={"now": 1_767_225_600, "frozen": True})
        client.post("/_sim/reset")
    # a background tick may touch a collection before the import creates any
    clients[0].app.state.kit.store.collection("ticks")  # type: ignore[attr-defined]
    for client in clients:
        client.post("/_sim/import", json={"kind": "toys", "records": [{"name": "a"}]})
    first, second = (c.get("/_sim/snapshot").content for c in clients)
    assert first == second
