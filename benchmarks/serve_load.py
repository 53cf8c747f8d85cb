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
Writes benchmarks/results/serve_load.json (serve_load_arena_<MODE>.json with --arena 0 / shrink: onnxruntime's CPU
memory arena off, or released after each run; the default keeps it).
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
ARENA: dict[str, str] = {}  # --arena: TRANSFERKIT_ORT_ARENA in the servers (the runtime's default: "1", kept)


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
            rss.append((len(latencies), rss_mb(server_pid)))
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
        row["rss_mb"] = memory_trend(rss)
    return row


def memory_trend(samples: list[tuple[int, float]]) -> dict:
    """Server RSS over a sustained run: start / end / max, and the least-squares slope in MB per 1,000 requests
    over the samples after the first fifth (the warm-up, while onnxruntime's arena grows to the largest batch)."""
    counts = np.asarray([c for c, _ in samples], dtype=float)
    mb = np.asarray([m for _, m in samples])
    tenth = max(1, len(mb) // 10)
    steady = slice(len(mb) // 5, None)
    slope = np.polyfit(counts[steady], mb[steady], 1)[0] * 1000 if np.ptp(counts[steady]) > 0 else float("nan")
    return {
        "start": round(float(np.median(mb[:tenth])), 1),
        "after_warm_up": round(float(mb[steady][0]), 1),
        "end": round(float(np.median(mb[-tenth:])), 1),
        "max": round(float(mb.max()), 1),
        "samples": len(mb),
        "slope_mb_per_1000_requests": round(float(slope), 2),
        "trace": [[int(c), round(float(m), 1)] for c, m in samples[:: max(1, len(samples) // 60)]],
    }


def bodies_for(name: str, work: Path) -> list[dict]:
    if name == "text":
        import pandas as pd

        texts = pd.read_csv(work / "reviews.csv").query("split == 'test'").review.tolist()[:500]
        return [{"texts": [text]} for text in texts]
    paths = sorted((work / "digits-test").glob("*.png"))[:500]
    return [{"images": [base64.b64encode(p.read_bytes()).decode()]} for p in paths]


def run_model(name: str, work: Path, args: argparse.Namespace) -> dict:
    """Both servers up at once (max_batch 32 and max_batch 1); levels alternate between them, round by round, so
    the shared machine's load drifts over both alike; then the sustained run on the batching server."""
    bodies = bodies_for(name, work)
    bundle = work / f"{name}-bundle"
    result = {"model": name, "bundle_graph": "fp32", "rounds": args.rounds, "levels": [], "unbatched": []}
    # --truncate as predict does; a generous timeout: on this shared machine a full queue takes tens of seconds
    common = {"precision": "fp32", "max_queue": 1024, "truncate": True, "timeout_s": 150.0}
    servers = {"batched": Server(bundle, max_batch=32, max_wait_ms=5.0, **common)}
    servers["unbatched"] = Server(bundle, max_batch=1, max_wait_ms=0.0, **common)
    try:
        for server in servers.values():
            server.wait_ready()
            asyncio.run(load(server.url, bodies, clients=4, seconds=3))  # warm-up, not recorded
        for round_ in range(args.rounds):
            for clients in LEVELS:
                arms = ("batched", "unbatched") if round_ % 2 == 0 else ("unbatched", "batched")
                for arm in arms:
                    if arm == "unbatched" and clients == 1:
                        continue  # one client: both servers predict one input at a time
                    row = asyncio.run(load(servers[arm].url, bodies, clients=clients, seconds=args.seconds))
                    row["round"] = round_
                    print(name, arm, row, flush=True)
                    result["levels" if arm == "batched" else "unbatched"].append(row)
        servers.pop("unbatched").stop()
        server = servers["batched"]
        sustained = asyncio.run(
            load(server.url, bodies, clients=32, seconds=args.sustain, server_pid=server.process.pid)
        )
        print(name, "sustained", {k: v for k, v in sustained.items() if k != "rss_mb"}, sustained["rss_mb"], flush=True)
        result["sustained"] = sustained
        import httpx

        health = httpx.get(f"{server.url}/health", timeout=30).json()
        result["batched_server_health"] = health  # the call size it settled on and what it measured
        print(name, "health", health, flush=True)
    finally:
        for server in servers.values():
            server.stop()
    result["batching_gain"] = gains(result)
    return result


def gains(result: dict) -> dict:
    """Batched / unbatched throughput per client count: per round (side by side) and over all rounds."""
    out = {}
    for clients in LEVELS[1:]:
        batched = [r for r in result["levels"] if r["clients"] == clients]
        unbatched = [r for r in result["unbatched"] if r["clients"] == clients]
        per_round = [
            round(b["throughput_per_s"] / u["throughput_per_s"], 2)
            for b, u in zip(batched, unbatched, strict=True)
            if u["throughput_per_s"]
        ]
        total = sum(r["requests"] for r in batched) / max(1, sum(r["requests"] for r in unbatched))
        out[str(clients)] = {"per_round": per_round, "overall": round(total, 2)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tk-bundles"))
    parser.add_argument("--seconds", type=float, default=15.0, help="seconds per concurrency level")
    parser.add_argument("--sustain", type=float, default=150.0, help="seconds of the sustained run (32 clients)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of levels, alternating the servers' order")
    parser.add_argument("--models", nargs="+", default=["text", "image"])
    parser.add_argument(
        "--arena", choices=["1", "shrink", "0"], default="1", help="TRANSFERKIT_ORT_ARENA in the servers"
    )
    args = parser.parse_args()
    ARENA["TRANSFERKIT_ORT_ARENA"] = args.arena
    name = "serve_load" if args.arena == "1" else f"serve_load_arena_{args.arena}"
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
            "rounds": args.rounds,
            "sustained_seconds": args.sustain,
            "server": "transferkit.serving (FastAPI + uvicorn, 1 process), fp32 graph, max_batch 32, max_wait 5 ms, "
            "call size measured while serving (serving/adaptive.py)",
            "unbatched": "same server with max_batch 1, running at the same time; levels alternate between the two",
            "request": "one input per request (a fine-food review, cut at 128 tokens: --truncate; an MNIST digit PNG)",
            "clients": "httpx.AsyncClient in one process on the same machine",
            "onnxruntime_cpu_arena": {"1": "kept", "shrink": "shrunk after each run", "0": "off"}[args.arena],
        },
        "models": models,
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
