"""`transferkit serve` as a real process on loopback: a model folder served by two workers answers as the runtime
does; `python -m transferkit.serving BUNDLE` runs with torch, transformers, pandas and scikit-learn unimportable, and
SIGTERM lets a request in flight (its body still arriving) finish with 200 before the server exits."""

import json
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

from tests.unit.runtime.tiny_bundles import table_bundle
from transferkit.runtime import load_bundle


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


HEAVY = ("torch", "transformers", "lightning", "pandas", "sklearn")


def _start(target, *options, cli: bool = True) -> tuple[subprocess.Popen, str]:
    """`transferkit serve TARGET` (cli), or `python -m transferkit.serving TARGET` with the heavy packages made
    unimportable (a None entry in sys.modules makes `import` fail), as in a deployment without them."""
    port = _free_port()
    launcher = "import sys; from transferkit.cli import run; sys.exit(run())"
    if not cli:
        launcher = (
            f"import runpy, sys; sys.modules.update(dict.fromkeys({HEAVY!r})); sys.argv[1:2] = []; "
            "runpy.run_module('transferkit.serving', run_name='__main__')"
        )
    command = [sys.executable, "-c", launcher, "serve", str(target), "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}: {process.stdout.read()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    pytest.fail("serve did not answer /health within 180 s")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return table_bundle(tmp_path_factory.mktemp("serve"))


def test_a_model_folder_served_by_two_workers_answers_as_the_runtime(table):
    folder, bundle_dir, rows = table
    process, url = _start(folder, "--workers", "2", "--threads", "1")
    try:
        rows = [json.loads(row) for row in rows[:30]]
        answers = [httpx.post(f"{url}/predict", json={"rows": rows[i : i + 3]}, timeout=30) for i in range(0, 30, 3)]
        assert all(answer.status_code == 200 for answer in answers)
        got = [p["probabilities"]["benign"] for answer in answers for p in answer.json()["predictions"]]
        np.testing.assert_allclose(got, load_bundle(bundle_dir).predict_proba(rows)[:, 1], atol=1e-6)
        assert httpx.get(f"{url}/metadata", timeout=10).json()["task"]["name"] == "classification"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_sigterm_finishes_the_request_in_flight(table):
    _, bundle_dir, rows = table
    process, url = _start(bundle_dir, "--workers", "1", cli=False)
    answer = {}

    def body():  # the request is in flight when SIGTERM comes: its body is still arriving
        yield b'{"rows": ['
        time.sleep(1.5)
        yield rows[0].encode() + b"]}"

    def request():
        headers = {"content-type": "application/json"}
        answer["response"] = httpx.post(f"{url}/predict", content=body(), headers=headers, timeout=30)

    client = threading.Thread(target=request)
    client.start()
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    client.join(timeout=30)
    assert answer["response"].status_code == 200 and answer["response"].json()["predictions"][0]["label"]
    # uvicorn re-raises the signal after its graceful shutdown, so the exit is SIGTERM's (-15), not a crash
    assert process.wait(timeout=30) == -signal.SIGTERM
    log = process.stdout.read()
    assert log.index("Shutting down") < log.index('"POST /predict') < log.index("Finished server process")
