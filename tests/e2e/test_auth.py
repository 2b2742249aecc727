"""Who may use the API: scripts/service.sh on another address than 127.0.0.1 only with an auth string, and the
real server then refusing every client without it, over HTTP and over its websockets.

The service runs on 127.0.0.2 (another address than 127.0.0.1, as SEQCONV_API_HOST=0.0.0.0 would be, yet
unreachable from other machines while the test runs) with the string `scripts/service.sh auth` wrote. Without it,
or with a wrong one, reading flows, creating a run and deleting a deployment answer HTTP 401, and every websocket
route (events in and out, logs, task subscriptions, the worker channel) is refused: Prefect's issue 17687 reported
the events endpoints open while HTTP was protected; on this version (3.9.1) they check the string too, and this
test keeps it so. With the string, `scripts/service.sh run` completes a train-all smoke run through the workers,
which got it from the script. The database as in tests/e2e/test_service.py."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import time

import httpx
import pytest

from tests.support.service import SERVICE, clean_env, free_port, running_service, stray_processes
from tests.support.service import backend as chosen_backend

pytestmark = pytest.mark.e2e
BACKEND = chosen_backend()
HOST = "127.0.0.2"
WEBSOCKETS = ["/events/in", "/events/out", "/logs/out", "/task_runs/subscriptions/scheduled",
              "/work_pools/gpu/workers/connect"]  # every @router.websocket of prefect/server/api


def _bindable(host: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, 0))
        except OSError:
            return False
    return True


def _script(tmp_path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    env = clean_env()
    env.update(SEQCONV_SERVICE_DIR=str(tmp_path / "service"), SEQCONV_PORT=str(free_port()),
               PREFECT_HOME=str(tmp_path / "prefect-home"), **settings)
    return subprocess.run(["bash", str(SERVICE), *args], env=env, capture_output=True, text=True, timeout=120)


def test_start_on_another_address_without_an_auth_string_is_refused(tmp_path):
    result = _script(tmp_path, "start", SEQCONV_API_HOST="0.0.0.0")
    assert result.returncode == 2 and not result.stdout, result
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: SEQCONV_API_HOST=0.0.0.0") and "scripts/service.sh auth" in line, line
    assert not (tmp_path / "service").exists()  # refused before anything was made or started


def test_auth_writes_a_string_only_its_owner_reads_and_keeps_it(tmp_path):
    made = _script(tmp_path, "auth")
    assert made.returncode == 0, made
    path = tmp_path / "service" / "auth"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    string = path.read_text().strip()
    user, password = string.split(":")
    assert user == "seqconv" and len(password) == 48 and int(password, 16) >= 0, string
    assert _script(tmp_path, "auth").returncode == 0 and path.read_text().strip() == string  # kept, not replaced

    path.chmod(0o644)  # a string others may read is no secret: start refuses it
    result = _script(tmp_path, "start", SEQCONV_API_HOST="0.0.0.0")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "mode 644" in result.stderr, result
    assert len(result.stderr.splitlines()) == 1, result.stderr


@pytest.fixture(scope="module")
def service(fixture_mirror, tmp_path_factory):
    if not _bindable(HOST):
        pytest.skip(f"{HOST} cannot be bound here (the test needs a loopback address other than 127.0.0.1)")
    base = tmp_path_factory.mktemp("auth")
    with running_service(BACKEND, fixture_mirror, base, auth=True, SEQCONV_API_HOST=HOST) as running:
        yield running
    assert not (stray := stray_processes(running["port"])), f"processes left behind: {stray}"


def _headers(auth: str | None) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()} if auth else {}


def test_the_api_refuses_clients_without_the_string(service):
    api, auth = service["api"], service["auth"]
    with socket.socket() as s:  # it listens where it was told, not on 127.0.0.1 as well
        assert s.connect_ex(("127.0.0.1", service["port"])) != 0
    with httpx.Client(base_url=api, timeout=30) as http:
        deployments = http.post("/deployments/filter", json={}, headers=_headers(auth))
        assert deployments.status_code == 200, deployments.text
        target = next(d for d in deployments.json() if d["name"] == "gpu")
        requests = [("POST", "/flows/filter", {}), ("GET", f"/deployments/{target['id']}", None),
                    ("POST", f"/deployments/{target['id']}/create_flow_run", {}),
                    ("DELETE", f"/deployments/{target['id']}", None)]
        for credentials in (None, "seqconv:wrong", auth.upper()):
            for method, path, body in requests:
                answer = http.request(method, path, json=body, headers=_headers(credentials))
                assert answer.status_code == 401, (credentials and credentials[:9], method, path, answer.status_code)
        assert http.get(f"/deployments/{target['id']}", headers=_headers(auth)).status_code == 200  # not deleted
        runs = http.post("/flow_runs/filter", json={}, headers=_headers(auth)).json()
        assert not [r for r in runs if r["deployment_id"] == target["id"]], "a refused client created a run"
        assert http.post("/flows/filter", json={}, headers=_headers(auth)).status_code == 200
        assert http.get("/health").status_code == 200  # Prefect leaves health probes open, and nothing else
        ui = httpx.get(api.removesuffix("/api") + "/ui-settings", timeout=30).json()
        assert ui["auth"] == "BASIC", ui  # the UI asks for the string on a login page


def test_every_websocket_refuses_clients_without_the_string(service):
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    ws, auth = service["api"].replace("http://", "ws://"), service["auth"]
    for route in WEBSOCKETS:
        with pytest.raises(InvalidStatus):  # no "prefect" subprotocol, no handshake: refused before it opens
            connect(ws + route, open_timeout=30).close()
        for token in (None, "seqconv:wrong"):
            with connect(ws + route, subprotocols=["prefect"], open_timeout=30) as socket_:
                socket_.send(json.dumps({"type": "auth", "token": token}))
                with pytest.raises(ConnectionClosed) as closed:
                    socket_.recv(timeout=30)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008, (route, token, closed.value)
        with connect(ws + route, subprotocols=["prefect"], open_timeout=30) as socket_:  # the control: it can pass
            socket_.send(json.dumps({"type": "auth", "token": auth}))
            assert json.loads(socket_.recv(timeout=30)) == {"type": "auth_success"}, route


def test_with_the_string_train_all_completes_through_the_workers(service):
    env, base = service["env"], service["base"]
    data, artifacts = base / "data", base / "artifacts"
    started = time.perf_counter()
    run = subprocess.run(
        ["bash", str(SERVICE), "run", "train-all/train-all", "--param", "profile=smoke",
         "--param", f"data_dir={data}", "--param", f"artifacts_dir={artifacts}"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    print(f"train-all smoke run with auth on: {time.perf_counter() - started:.0f} s")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.objects import StateType

    with SyncPrefectClient(service["api"], auth_string=service["auth"]) as client:
        runs = {flow: client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow])))
                for flow in ("train-all", "train-model")}
    train_all = [r for r in runs["train-all"] if r.state_type != StateType.SCHEDULED]
    assert len(train_all) == 1 and train_all[0].state.is_completed(), train_all
    assert len(runs["train-model"]) == 3 and all(r.state.is_completed() and r.work_pool_name == "gpu"
                                                for r in runs["train-model"]), runs["train-model"]
    assert (artifacts / "registry" / "imdb_conv.json").is_file()
    remembered = {k: v for k, v in env.items() if k != "SEQCONV_API_HOST"}  # status finds the address it runs on
    status = subprocess.run(["bash", str(SERVICE), "status"], env=remembered, capture_output=True, text=True,
                            timeout=180)  # it ends with seqconv doctor, which imports TensorFlow
    assert f"API: {service['api']} (auth: on, " in status.stdout, status.stdout + status.stderr
    for log in ("worker-cpu", "worker-gpu"):
        text = (base / "service" / f"{log}.log").read_text(errors="replace")
        # httpx says "Client error '401 Unauthorized'"; a run id may hold the digits 401
        assert not [line for line in text.splitlines() if "Unauthorized" in line], f"{log}.log: {text[-3000:]}"
