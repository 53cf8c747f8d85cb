"""`transferkit serve`: parsing and printing only; the work is transferkit.serving.server.serve.

Imports only typer, so `transferkit --help` works without the serve extra.
"""

from __future__ import annotations

from pathlib import Path

import typer

EXAMPLE = "Example: transferkit serve bundles/reviews --port 8000 --max-batch 32 --workers 2"


# Long: one typer option per setting, each with its help text.
def serve(
    model: Path = typer.Argument(
        ..., help="A bundle (transferkit export --bundle) or a model folder (runs/NAME/model)."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Server processes (each loads the model; --threads each)."),
    threads: int = typer.Option(None, help="onnxruntime threads per model call [the cores / --pipeline]."),
    pipeline: int = typer.Option(2, help="Batches in flight at once: one is gathered while another runs."),
    max_batch: int = typer.Option(
        8, help="Inputs predicted together, at most (across concurrent requests); sets the warmed-up memory."
    ),
    max_wait_ms: float = typer.Option(5.0, help="How long a batch waits for more requests to join, in ms."),
    call_size: int = typer.Option(
        None, help="Inputs per batch (one model call) [measured: 1, 2, 4.. up to --max-batch]."
    ),
    max_items: int = typer.Option(64, help="Inputs per request, at most (413 beyond)."),
    max_request_mb: float = typer.Option(16.0, help="Request body size in MiB, at most (413 beyond)."),
    max_queue: int = typer.Option(256, help="Requests waiting for the model, at most (503 beyond)."),
    timeout: float = typer.Option(30.0, help="Seconds before an unanswered request gets 504."),
    truncate: bool = typer.Option(False, "--truncate", help="Cut texts over the token limit (default: 422)."),
    precision: str = typer.Option(None, help="Bundle graph: fp32 or int8 [the bundle's default]."),
    graceful: float = typer.Option(30.0, help="On SIGTERM, seconds to let in-flight requests finish."),
    allow_download: bool = typer.Option(False, "--allow-download", help="A model folder's backbone may download."),
) -> None:
    """Serve a model over HTTP (FastAPI on uvicorn): POST /predict, GET /health, GET /metadata, /docs."""
    from transferkit.serving.server import serve as run_server
    from transferkit.serving.settings import ServeSettings

    settings = ServeSettings(
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        call_size=call_size,
        max_items=max_items,
        max_request_mb=max_request_mb,
        max_queue=max_queue,
        timeout_s=timeout,
        truncate=truncate,
        threads=threads,
        pipeline=pipeline,
        precision=precision,
    )
    run_server(
        model,
        host=host,
        port=port,
        workers=workers,
        settings=settings,
        graceful_s=graceful,
        allow_download=allow_download,
    )
