"""The kit's pipeline and admin API, exercised through a minimal simulator defined here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from simulators._kit import (
    Backend,
    Call,
    Endpoint,
    FaultDecision,
    SeedRequest,
    Simulator,
    SimulatorConfig,
    SimulatorError,
    build_app,
    json_response,
    serve_in_thread,
)
from simulators._kit.testing import WebhookRecorder, wait_for


class ToyError(SimulatorError):
    def __init__(self, status: int, code: str, message: str = "") -> None:
        self.status, self.code, self.message = status, code, message

    def to_response(self) -> Response:
        return json_response({"fault": {"code": self.code, "message": self.message}}, self.status)


class ToyBackend(Backend):
    def create(self, name: str) -> dict[str, Any]:
        doc = {"id": self.ctx.ids.new("toy"), "name": name, "created": self.clock.now()}
        self.ctx.store.collection("toys").put(doc["id"], doc)
        self.ctx.facts.record("toy.created", doc["id"], name=name)
        for hook in self.ctx.store.collection("hooks").values():
            self.ctx.webhooks.enqueue(url=hook["url"], body=b'{"id":"%s"}' % doc["id"].encode(),
                                      event_id=doc["id"], event_type="toy.created",
                                      secret="s3cret")
        return doc

    def seed(self, request: SeedRequest) -> dict[str, int]:
        for i in range(request.size):
            self.create(f"seeded-{i}")
        return {"toys": request.size}


class ToySimulator(Simulator):
    name = "toy"
    title = "Toy"
    backend_class = ToyBackend

    def endpoints(self) -> list[Endpoint]:
        def create(call: Call) -> Response:
            return json_response(call.backend.create(call.body.decode() or "x"), 201)

        def get(call: Call) -> Response:
            doc = call.backend.ctx.store.collection("toys").get(call.path_params["id"])
            if doc is None:
                raise ToyError(404, "not_found")
            return json_response(doc)

        def hook(call: Call) -> Response:
            call.backend.ctx.store.collection("hooks").put("h", {"url": call.body.decode()})
            return json_response({})

        return [Endpoint("POST", "/toys", create, idempotent=True),
                Endpoint("GET", "/toys/{id}", get), Endpoint("POST", "/hooks", hook)]

    def authenticate(self, request: Request) -> str | None:
        if request.headers.get("authorization") != "Bearer good":
            raise ToyError(401, "unauthorized")
        return "good"

    def fault_error(self, decision: FaultDecision) -> SimulatorError:
        err = ToyError(decision.status, decision.action or "error")
        return err

    def not_found(self, request: Request) -> SimulatorError:
        return ToyError(404, "no_route")

    def internal_error(self) -> SimulatorError:
        return ToyError(500, "internal")

    def idempotency_mismatch(self, key: str) -> SimulatorError:
        return ToyError(400, "idempotency_mismatch")

    def idempotency_in_flight(self, key: str) -> SimulatorError:
        return ToyError(409, "in_flight")

    def sign_webhook(self, body: bytes, secret: str, timestamp: int) -> dict[str, str]:
        return {"X-Sig": f"{secret}:{timestamp}"}


AUTH = {"Authorization": "Bearer good"}


@pytest.fixture
def toy():
    with serve_in_thread(build_app(ToySimulator())) as server, \
            httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_auth_and_vendor_error_shape(toy: httpx.Client) -> None:
    assert toy.post("/toys", content=b"a").json() == {"fault": {"code": "unauthorized",
                                                                "message": ""}}
    assert toy.get("/nowhere").json()["fault"]["code"] == "no_route"
    assert toy.post("/toys", content=b"a", headers=AUTH).status_code == 201


def test_idempotency_replays_and_rejects_mismatch(toy: httpx.Client) -> None:
    h = {**AUTH, "Idempotency-Key": "k1"}
    first = toy.post("/toys", content=b"a", headers=h)
    again = toy.post("/toys", content=b"a", headers=h)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert toy.post("/toys", content=b"b", headers=h).json()["fault"]["code"] == \
        "idempotency_mismatch"


def test_ids_are_deterministic_per_seed() -> None:
    def ids(seed: int) -> list[str]:
        app = build_app(ToySimulator(SimulatorConfig(seed=seed)))
        backend = app.state.kit.backend
        return [backend.create("x")["id"] for _ in range(3)]

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)
    assert len(set(ids(1))) == 3


def test_faults_error_rate_is_seeded_and_reset_drops_connection(toy: httpx.Client) -> None:
    def run() -> list[int]:
        toy.put("/_sim/faults", json={"seed": 3, "rules": [
            {"kind": "error", "status": 503, "probability": 0.5}]}).raise_for_status()
        return [toy.post("/toys", content=b"a", headers=AUTH).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {201, 503}
    toy.put("/_sim/faults", json={"rules": [{"kind": "reset", "route": "/toys*"}]})
    # the connection is dropped without an answer: the client sees the close either as a
    # disconnect or as a reset (RST), whichever reaches it first
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        toy.post("/toys", content=b"a", headers=AUTH)
    toy.put("/_sim/faults", json={"rules": [{"kind": "rate_limit", "retry_after_s": 2}]})
    assert toy.post("/toys", content=b"a", headers=AUTH).status_code == 429
    assert toy.put("/_sim/faults", json={"profile": "nope"}).status_code == 422
    toy.delete("/_sim/faults")
    assert toy.post("/toys", content=b"a", headers=AUTH).status_code == 201


def test_outage_window_follows_the_simulator_clock(toy: httpx.Client) -> None:
    toy.put("/_sim/faults", json={"rules": [
        {"kind": "outage", "status": 503, "start_in_s": 60, "duration_s": 30}]})
    assert toy.post("/toys", content=b"a", headers=AUTH).status_code == 201
    toy.post("/_sim/clock/advance", json={"seconds": 61})
    assert toy.post("/toys", content=b"a", headers=AUTH).status_code == 503
    toy.post("/_sim/clock/advance", json={"seconds": 30})
    assert toy.post("/toys", content=b"a", headers=AUTH).status_code == 201


def test_latency_fault_is_visible_in_the_journal(toy: httpx.Client) -> None:
    toy.put("/_sim/faults", json={"rules": [
        {"kind": "latency", "latency": {"distribution": "fixed", "ms": 150}}]})
    toy.post("/toys", content=b"a", headers=AUTH)
    entry = toy.get("/_sim/journal", params={"limit": 1}).json()["data"][-1]
    assert entry["duration_ms"] >= 150
    assert entry["fault"] == "latency"
    assert entry["route"] == "/toys"


def test_snapshot_restore_and_reset(toy: httpx.Client) -> None:
    created = toy.post("/toys", content=b"keep", headers=AUTH).json()
    snap = toy.get("/_sim/snapshot").json()
    toy.post("/_sim/reset")
    assert toy.get(f"/toys/{created['id']}", headers=AUTH).status_code == 404
    assert toy.put("/_sim/snapshot", json=snap).status_code == 200
    assert toy.get(f"/toys/{created['id']}", headers=AUTH).json()["name"] == "keep"
    assert toy.put("/_sim/snapshot", json={**snap, "simulator": "other"}).status_code == 409


def test_await_long_polls_until_the_fact(toy: httpx.Client) -> None:
    assert toy.get("/_sim/await", params={"kind": "toy.created", "key": "nope",
                                          "timeout": 0.1}).json()["matched"] is False
    result: dict[str, Any] = {}

    def wait() -> None:
        result["r"] = toy.get("/_sim/await", params={"kind": "toy.created", "key": "toy_x",
                                                     "timeout": 5}).json()

    # the first id of seed 0 is known, so the waiter can ask before it exists
    first_id = build_app(ToySimulator()).state.kit.backend.create("x")["id"]
    t = threading.Thread(target=lambda: result.update(
        r=toy.get("/_sim/await", params={"kind": "toy.created", "key": first_id,
                                         "timeout": 5}).json()))
    t.start()
    time.sleep(0.05)  # let the long-poll register; the assertion does not depend on it
    toy.post("/toys", content=b"a", headers=AUTH)
    t.join(10)
    assert result["r"]["matched"] is True
    assert result["r"]["fact"]["key"] == first_id


def test_seed_metrics_health_and_clock(toy: httpx.Client) -> None:
    assert toy.post("/_sim/seed", json={"size": 3}).json()["created"] == {"toys": 3}
    assert toy.post("/_sim/seed", json={"size": -1}).status_code == 422
    toy.post("/toys", content=b"a", headers=AUTH)
    metrics = toy.get("/_sim/metrics").text
    assert 'sim_requests_total{method="POST",route="/toys",simulator="toy",status="201"}' in metrics
    assert toy.get("/_sim/health").json()["status"] == "ok"
    before = toy.get("/_sim/clock").json()["now"]
    after = toy.post("/_sim/clock/advance", json={"seconds": 3600}).json()["now"]
    assert after - before >= 3600
    assert toy.post("/_sim/clock/advance", json={"seconds": 1, "to": 5}).status_code == 422


def test_openapi_has_vendor_and_admin_paths(toy: httpx.Client) -> None:
    spec = toy.get("/openapi.json").json()
    assert "/toys/{id}" in spec["paths"]
    assert spec["paths"]["/_sim/faults"]["put"]["tags"] == ["admin"]


def test_sqlite_store_survives_restart(tmp_path) -> None:
    config = SimulatorConfig(store=f"sqlite:///{tmp_path / 'toy.db'}")
    with serve_in_thread(build_app(ToySimulator(config))) as server:
        created = httpx.post(f"{server.url}/toys", content=b"durable", headers=AUTH).json()
        httpx.post(f"{server.url}/_sim/clock/advance", json={"seconds": 86400})
    with serve_in_thread(build_app(ToySimulator(config.model_copy()))) as server:
        got = httpx.get(f"{server.url}/toys/{created['id']}", headers=AUTH)
        assert got.json()["name"] == "durable"
        again = httpx.post(f"{server.url}/toys", content=b"next", headers=AUTH).json()
        assert again["id"] != created["id"]
        assert httpx.get(f"{server.url}/_sim/clock").json()["offset"] >= 86400


def test_webhooks_are_signed_retried_and_logged(toy: httpx.Client) -> None:
    recorder = WebhookRecorder()
    recorder.script = [(500, b""), (500, b"")]  # fails twice, then the default 200
    with recorder.serve():
        toy.post("/hooks", content=recorder.url.encode(), headers=AUTH)
        created = toy.post("/toys", content=b"a", headers=AUTH).json()
        log = wait_for(lambda: [d for d in toy.get("/_sim/webhooks", params={
            "event_id": created["id"]}).json()["data"] if d["status"] == "delivered"])
    assert [a["status_code"] for a in log[0]["attempts"]] == [500, 500, 200]
    assert len(recorder.received) == 3
    assert recorder.received[0].headers["x-sig"].startswith("s3cret:")


def test_a_refused_webhook_is_logged_with_the_error_and_retried(
        toy: httpx.Client, free_port: Callable[[], int]) -> None:
    toy.post("/hooks", content=f"http://127.0.0.1:{free_port()}/hook".encode(), headers=AUTH)
    created = toy.post("/toys", content=b"a", headers=AUTH).json()
    log = wait_for(lambda: [d for d in toy.get("/_sim/webhooks", params={
        "event_id": created["id"]}).json()["data"] if len(d["attempts"]) >= 2])
    attempts = log[0]["attempts"]
    assert log[0]["status"] != "delivered"
    assert all(a["status_code"] is None for a in attempts)
    assert attempts[0]["error"].startswith("ClientConnectorError"), attempts[0]


def test_timeout_fault_holds_the_request_then_answers_504(toy: httpx.Client) -> None:
    toy.put("/_sim/faults", json={"rules": [{"kind": "timeout", "timeout_s": 0.3}]})
    with pytest.raises(httpx.ReadTimeout):
        toy.post("/toys", content=b"a", headers=AUTH, timeout=0.1)
    late = toy.post("/toys", content=b"a", headers=AUTH, timeout=5)
    assert late.status_code == 504
    assert late.json()["fault"]["code"] == "timeout"


def test_faults_from_config_are_active_at_start_and_after_reset() -> None:
    config = SimulatorConfig(faults={"rules": [{"kind": "error", "status": 502,
                                                "route": "/toys"}]})
    with serve_in_thread(build_app(ToySimulator(config))) as server:
        assert httpx.post(f"{server.url}/toys", headers=AUTH).status_code == 502
        httpx.post(f"{server.url}/_sim/reset")
        assert httpx.post(f"{server.url}/toys", headers=AUTH).status_code == 502
        assert httpx.get(f"{server.url}/toys/x", headers=AUTH).status_code == 404


def test_webhook_duplicate_and_out_of_order_faults(toy: httpx.Client) -> None:
    recorder = WebhookRecorder()
    with recorder.serve():
        toy.post("/hooks", content=recorder.url.encode(), headers=AUTH)
        toy.put("/_sim/faults", json={"seed": 1, "rules": [
            {"kind": "webhook_duplicate", "probability": 1.0}]})
        created = toy.post("/toys", content=b"a", headers=AUTH).json()
        received = wait_for(lambda: len(recorder.bodies()) >= 2 and recorder.bodies())
        assert received.count(b'{"id":"%s"}' % created["id"].encode()) == 2
        log = toy.get("/_sim/webhooks", params={"event_id": created["id"]}).json()["data"]
        assert [d["duplicate_of"] is not None for d in log] == [False, True]

        recorder.clear()
        # the first event is held back (out of order), the next ones overtake it
        toy.put("/_sim/faults", json={"rules": [
            {"kind": "webhook_out_of_order", "probability": 1.0}]})
        first = toy.post("/toys", content=b"a", headers=AUTH).json()["id"]
        toy.delete("/_sim/faults")
        later = [toy.post("/toys", content=b"a", headers=AUTH).json()["id"] for _ in range(3)]
        received = wait_for(lambda: len(recorder.bodies()) >= 4 and recorder.bodies())
        order = [body.decode()[7:-2] for body in received]
        assert sorted(order) == sorted([first, *later])
        assert order[-1] == first


def test_facts_carry_the_unshifted_instant_after_a_clock_advance(toy: httpx.Client) -> None:
    toy.post("/_sim/clock/advance", json={"seconds": 86_400 * 31})
    offset = toy.get("/_sim/clock").json()["offset"]
    created = toy.post("/toys", content=b"late", headers=AUTH).json()
    fact = toy.get("/_sim/await", params={"kind": "toy.created", "key": created["id"],
                                          "timeout": 5}).json()["fact"]
    assert offset >= 86_400 * 31
    assert fact["wall_at"] == pytest.approx(fact["at"] - offset)
    assert abs(fact["wall_at"] - time.time()) < 3600  # the real instant, not a month ahead
