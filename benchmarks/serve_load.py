"""Load test of `transferkit serve` on loopback: throughput and p50 / p99 latency at 1, 8 and 32 concurrent clients
for a text and an image model, failed requests, server memory over a sustained run, and dynamic batching's gain
over one-at-a-time (the same server with --max-batch 1) as a throughput ratio.

Each client sends one input per request (a fine-food review, or an MNIST digit as base64 PNG), waits for the
answer and sends the next, for a fixed time per level. The server is the torch-free bundle server
(`transferkit.serving.server.serve`, FastAPI on uvicorn, one process, default settings: up to 8 inputs a call, two
batches in flight, one onnxruntime thread per call on 2 cores, the largest calls run at start) started as a
subprocess; the clients run in this process (one asyncio loop writing raw HTTP/1.1 keep-alive requests: a few tens
of microseconds of CPU per request, where httpx took milliseconds of the same 2 cores), so absolute rates are the
machine's, the ratios are what carries over. Each
window also records the server's CPU seconds per answered request (/proc), which does not depend on the share of
the cores other processes leave it. Bounded: every level stops after --seconds; loopback only.

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


def request_bytes(body: dict) -> bytes:
    """One POST /predict as HTTP/1.1 bytes (keep-alive), written as is by the client loop."""
    data = json.dumps(body).encode()
    head = f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
    return head.encode() + b"\r\n\r\n" + data


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> bool:
    """Send one request, read its whole answer; True for 200."""
    writer.write(request)
    status = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status.split(b" ", 2)[1:2] == [b"200"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    server: Server, requests: list[bytes], *, clients: int, seconds: float, sample_rss: bool = False
) -> dict:
    """`clients` concurrent loops of one-input requests for `seconds`; latencies, failures, server CPU and RSS."""
    latencies, failures, rss = [], 0, []
    stop_at = time.monotonic() + seconds
    pid = server.process.pid

    async def client(index: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        count = index
        while time.monotonic() < stop_at:
            request = requests[count % len(requests)]
            count += clients
            started = time.perf_counter()
            try:
                ok = await exchange(reader, writer, request)
            except (OSError, asyncio.IncompleteReadError, IndexError, ValueError):
                ok = False
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                failures += 1
        writer.close()

    async def sample() -> None:
        while sample_rss and time.monotonic() < stop_at:
            rss.append((len(latencies), rss_mb(pid)))
            await asyncio.sleep(1.0)

    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    await asyncio.gather(sample(), *(client(i) for i in range(clients)))
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    ms = np.asarray(latencies) * 1000
    row = {
        "clients": clients,
        "requests": len(latencies),
        "failed": failures,
        "throughput_per_s": round(len(latencies) / elapsed, 2),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
        "server_cpu_ms_per_request": round(1000 * cpu / max(1, len(latencies)), 1),
        "load_average": round(os.getloadavg()[0], 1),
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
        "growth_after_warm_up_pct": round(100 * (float(np.median(mb[-tenth:])) / float(mb[steady][0]) - 1), 1),
        "max_over_warm_up_pct": round(100 * (float(mb[steady].max()) / float(mb[steady][0]) - 1), 1),
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
    """Both servers up at once (the default max_batch 8, and max_batch 1, otherwise the same); levels alternate
    between them, round by round, the order flipping each round, so the shared machine's load drifts over both
    alike; then the sustained run on the batching server."""
    requests = [request_bytes(body) for body in bodies_for(name, work)]
    bundle = work / f"{name}-bundle"
    result = {"model": name, "bundle_graph": "fp32", "rounds": args.rounds, "levels": [], "unbatched": []}
    # --truncate as predict does; a generous timeout: on this shared machine a full queue takes tens of seconds
    common = {"precision": "fp32", "max_queue": 1024, "truncate": True, "timeout_s": 150.0}
    servers = {"batched": Server(bundle, **common)}  # the default batching settings (max_batch 8, wait 5 ms)
    servers["unbatched"] = Server(bundle, max_batch=1, max_wait_ms=0.0, **common)
    try:
        for arm, server in servers.items():
            server.wait_ready()
            result[f"{arm}_rss_mb_when_ready"] = round(rss_mb(server.process.pid), 1)  # after its warm-up
            asyncio.run(load(server, requests, clients=4, seconds=3))  # warm-up, not recorded
        for round_ in range(args.rounds):
            for clients in LEVELS:
                arms = ("batched", "unbatched") if round_ % 2 == 0 else ("unbatched", "batched")
                for arm in arms:
                    row = asyncio.run(load(servers[arm], requests, clients=clients, seconds=args.seconds))
                    row["round"] = round_
                    print(name, arm, row, flush=True)
                    result["levels" if arm == "batched" else "unbatched"].append(row)
        servers.pop("unbatched").stop()
        server = servers["batched"]
        sustained = asyncio.run(load(server, requests, clients=32, seconds=args.sustain, sample_rss=True))
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
    """Batched / unbatched per client count: throughput per round (side by side) with the median of the rounds,
    over all rounds' requests, and the median server CPU milliseconds per request of each."""
    out = {}
    for clients in LEVELS:
        batched = [r for r in result["levels"] if r["clients"] == clients]
        unbatched = [r for r in result["unbatched"] if r["clients"] == clients]
        per_round = [
            round(b["throughput_per_s"] / u["throughput_per_s"], 2)
            for b, u in zip(batched, unbatched, strict=True)
            if u["throughput_per_s"]
        ]
        total = sum(r["requests"] for r in batched) / max(1, sum(r["requests"] for r in unbatched))
        out[str(clients)] = {
            "per_round": per_round,
            "median": round(float(np.median(per_round)), 2) if per_round else None,
            "overall": round(total, 2),
            "cpu_ms_per_request": {
                "batched": round(float(np.median([r["server_cpu_ms_per_request"] for r in batched])), 1),
                "unbatched": round(float(np.median([r["server_cpu_ms_per_request"] for r in unbatched])), 1),
            },
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/tk-bundles"))
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per concurrency level")
    parser.add_argument("--sustain", type=float, default=90.0, help="seconds of the sustained run (32 clients)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of levels, alternating the servers' order")
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
    earlier, history = RESULTS / f"{name}.json", {}
    if earlier.is_file():  # a run of some models keeps the others' earlier rows, and the earlier sessions' summaries
        old = json.loads(earlier.read_text())
        history = {
            key: old.get(key)
            for key in (
                "before_this_session",
                "earlier_runs_this_session",
                "httpx_client_run",
                "before_warm_up",
                "other_runs_with_warm_up",
            )
        }
        if "before_warm_up" not in old:  # the run before the warm-up and shape buckets: its summary kept
            keys = ("model", "batching_gain", "sustained", "batched_server_health")
            history["before_warm_up"] = {
                "machine": old["machine"],
                "settings": old["settings"],
                "models": [{k: m.get(k) for k in keys} for m in old["models"]],
            }
        if "httpx" in old["settings"]["clients"]:  # the server before the pipeline, measured with httpx clients
            keys = ("model", "batching_gain", "batched_server_health")
            history["httpx_client_run"] = {
                "machine": old["machine"],
                "settings": old["settings"],
                "models": [{k: m.get(k) for k in keys} for m in old["models"]],
            }
        else:
            models = [m for m in old["models"] if m["model"] not in args.models] + models
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
            "server": "transferkit.serving (FastAPI + uvicorn, 1 process), fp32 graph, default settings: max_batch 8, "
            "max_wait 5 ms, warm-up of the largest calls on both model threads at start, no onnxruntime memory "
            "pattern, image calls in power-of-two row counts, "
            "call size measured while serving (serving/adaptive.py, CPU seconds per input), pipeline 2 (two batches "
            "in flight), 1 onnxruntime thread per call",
            "unbatched": "same server with max_batch 1 (max_wait 0), running at the same time; levels alternate "
            "between the two, the order flipping each round; gain = median of the rounds' ratios",
            "request": "one input per request (a fine-food review, cut at 128 tokens: --truncate; an MNIST digit PNG)",
            "clients": "raw HTTP/1.1 keep-alive requests from one asyncio loop in the benchmark's process, on the same "
            "2 cores as the servers",
            "onnxruntime_cpu_arena": {"1": "kept", "shrink": "shrunk after each run", "0": "off"}[args.arena],
        },
        "models": models,
        "seconds": round(time.time() - started, 1),
    } | {key: value for key, value in history.items() if value is not None}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
