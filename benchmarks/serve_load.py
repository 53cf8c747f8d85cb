"""Load test of `transferkit serve` on loopback: throughput and p50 / p99 latency at 1, 8 and 32 concurrent clients
for a text and an image model, failed requests, server memory over a sustained run, and dynamic batching's gain
over one-at-a-time (the same server with --max-batch 1) as a throughput ratio.

Each client sends one input per request (a fine-food review, or an MNIST digit as base64 PNG), waits for the
answer and sends the next, for a fixed time per level. The server is the torch-free bundle server
(`transferkit.serving.server.serve`, FastAPI on uvicorn, one process, onnxruntime on all cores) started as a
subprocess; the clients (httpx, asyncio) run in this process on the same 2 cores, so absolute rates are the
machine's, the ratios are what carries over. Bounded: every level stops after --seconds, the whole run after
--deadline seconds; loopback only.

Run:  .venv/bin/python benchmarks/bundle_quantised.py   # fits the probes and writes the bundles first
      .venv/bin/python benchmarks/serve_load.py [--work /tmp/tk-bundles] [--seconds 15] [--sustain 60]
Writes benchmarks/results/serve_load.json (serve_load_arena.json with --arena: onnxruntime's CPU memory arena on).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
LEVELS = (1, 8, 32)
ARENA: dict[str, str] = {}  # --arena: onnxruntime's CPU memory arena on in the server (the runtime turns it off)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """A serve() subprocess on a free loopback port, stopped with SIGTERM."""

    def __init__(self, bundle: Path, **settings) -> None:
        self.port = free_port()
        options = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        code = (
            "from transferkit.serving.server import serve; from transferkit.serving.settings import ServeSettings; "
            f"serve({str(bundle)!r}, port={self.port}, settings=ServeSettings({options}))"
        )
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}  # uvicorn's access log
        self.process = subprocess.Popen([sys.executable, "-c", code], **quiet, env=os.environ | ARENA)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        import httpx

        for _ in range(600):
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


async def load(url: str, bodies: list[dict], *, clients: int, seconds: float, server_pid: int | None = None) -> dict:
    """`clients` concurrent loops of one-input requests for `seconds`; latencies, failures, server RSS samples."""
    import httpx

    latencies, failures, rss = [], 0, []
    stop_at = time.monotonic() + seconds

    async def client(index: int, session: httpx.AsyncClient) -> None:
        nonlocal failures
        count = index
        while time.monotonic() < stop_at:
            body = bodies[count % len(bodies)]
            count += clients
            started = time.perf_counter()
            try:
                answer = await session.post(f"{url}/predict", json=body, timeout=180)
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1

    async def sample() -> None:
        while server_pid and time.monotonic() < stop_at:
            rss.append(rss_mb(server_pid))
            await asyncio.sleep(1.0)

    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    async with httpx.AsyncClient(limits=limits) as session:
        started = time.perf_counter()
        await asyncio.gather(sample(), *(client(i, session) for i in range(clients)))
        elapsed = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    row = {
        "clients": clients,
        "requests": len(latencies),
        "failed": failures,
        "throughput_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
    }
    if rss:
        tenth = max(1, len(rss) // 10)
        row["rss_mb"] = {
            "start": round(float(np.median(rss[:tenth])), 1),
            "end": round(float(np.median(rss[-tenth:])), 1),
            "max": round(max(rss), 1),
            "samples": len(rss),
        }
    return row


def bodies_for(name: str, work: Path) -> list[dict]:
    if name == "text":
        import pandas as pd

        texts = pd.read_csv(work / "reviews.csv").query("split == 'test'").review.tolist()[:500]
        return [{"texts": [text]} for text in texts]
    paths = sorted((work / "digits-test").glob("*.png"))[:500]
    return [{"images": [base64.b64encode(p.read_bytes()).decode()]} for p in paths]


def run_model(name: str, work: Path, args: argparse.Namespace) -> dict:
    bodies = bodies_for(name, work)
    bundle = work / f"{name}-bundle"
    result = {"model": name, "bundle_graph": "fp32", "levels": [], "unbatched": []}
    # --truncate as predict does; a generous timeout: on this shared machine a full queue takes tens of seconds
    common = {"precision": "fp32", "max_queue": 1024, "truncate": True, "timeout_s": 150.0}
    server = Server(bundle, max_batch=32, max_wait_ms=5.0, **common)
    try:
        server.wait_ready()
        asyncio.run(load(server.url, bodies, clients=4, seconds=3))  # warm-up, not recorded
        for clients in LEVELS:
            row = asyncio.run(load(server.url, bodies, clients=clients, seconds=args.seconds))
            print(name, "batched", row, flush=True)
            result["levels"].append(row)
        sustained = asyncio.run(
            load(server.url, bodies, clients=32, seconds=args.sustain, server_pid=server.process.pid)
        )
        print(name, "sustained", sustained, flush=True)
        result["sustained"] = sustained
    finally:
        server.stop()
    server = Server(bundle, max_batch=1, max_wait_ms=0.0, **common)
    try:
        server.wait_ready()
        for clients in (1, 32):
            row = asyncio.run(load(server.url, bodies, clients=clients, seconds=args.seconds))
            print(name, "max_batch=1", row, flush=True)
            result["unbatched"].append(row)
    finally:
        server.stop()
    batched_32 = next(r for r in result["levels"] if r["clients"] == 32)["throughput_per_s"]
    result["batching_gain_at_32_clients"] = round(batched_32 / result["unbatched"][1]["throughput_per_s"], 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tk-bundles"))
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per concurrency level")
    parser.add_argument("--sustain", type=float, default=60.0, help="seconds of the sustained run (32 clients)")
    parser.add_argument("--models", nargs="+", default=["text", "image"])
    parser.add_argument("--arena", action="store_true", help="server with onnxruntime's CPU arena on")
    args = parser.parse_args()
    if args.arena:
        ARENA["TRANSFERKIT_ORT_ARENA"] = "1"
    name = "serve_load_arena" if args.arena else "serve_load"
    started = time.time()
    load_before = os.getloadavg()
    models = [run_model(name, args.work, args) for name in args.models]
    earlier = RESULTS / f"{name}.json"
    if earlier.is_file():  # a run of some models keeps the others' earlier rows
        kept = [m for m in json.loads(earlier.read_text())["models"] if m["model"] not in args.models]
        models = kept + models
    payload = {
        "benchmark": "serve_load",
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average_at_start": load_before,
            "load_average_at_end": os.getloadavg(),
        },
        "settings": {
            "seconds_per_level": args.seconds,
            "sustained_seconds": args.sustain,
            "server": "transferkit.serving (FastAPI + uvicorn, 1 process), fp32 graph, max_batch 32, max_wait 5 ms",
            "unbatched": "same server with max_batch 1",
            "request": "one input per request (a fine-food review, cut at 128 tokens: --truncate; an MNIST digit PNG)",
            "clients": "httpx.AsyncClient in one process on the same machine",
            "onnxruntime_cpu_arena": bool(args.arena),
        },
        "models": models,
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
