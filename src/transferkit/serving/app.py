"""The FastAPI application over a loaded bundle: POST /predict (batched), GET /health, GET /metadata, /docs.

FastAPI on uvicorn: both are widely used and well kept, FastAPI writes the OpenAPI schema and /docs for free, and
its TestClient drives the app in tests without a socket. The app runs on `transferkit.runtime` (onnxruntime), so
a serving process needs no torch.

Example::

    app = create_app(load_bundle("bundles/reviews"), ServeSettings(max_batch=32))
    # uvicorn.run(app, port=8000)
"""

from __future__ import annotations

import asyncio
import json
import os
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from transferkit.errors import TransferKitError
from transferkit.runtime import Bundle, load_bundle
from transferkit.runtime.preprocess import InputError
from transferkit.serving.adaptive import AdaptiveCallSize
from transferkit.serving.batcher import DynamicBatcher, QueueFull
from transferkit.serving.requests import FIELDS, RequestError, file_inputs, json_inputs
from transferkit.serving.settings import ServeSettings
from transferkit.version import __version__

ENVIRONMENT = "TRANSFERKIT_SERVE"  # how `serve --workers N` hands each worker process its bundle and settings


def _request_schema(modality: str) -> dict[str, Any]:
    """The /predict body in the OpenAPI schema (the route parses it itself, so both content types are listed)."""
    field = FIELDS[modality]
    item = {"text": {"type": "string"}, "image": {"type": "string", "format": "base64"}, "tabular": {"type": "object"}}
    binary = {"type": "array", "items": {"type": "string", "format": "binary"}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {field: {"type": "array", "items": item[modality]}},
                    }
                },
                "multipart/form-data": {"schema": {"type": "object", "properties": {"files": binary}}},
            },
        }
    }


async def _body(request: Request, limit: int) -> bytes:
    """The body, read as it arrives and refused (413) once past `limit` bytes: a chunked upload with no
    Content-Length is never held whole in memory beyond the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, ["body"], f"The body has {int(declared):,} bytes; the limit is {limit:,}.")
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise RequestError(413, ["body"], f"The body has more than {limit:,} bytes; the limit is {limit:,}.")
        parts.append(part)
    return b"".join(parts)


async def _inputs(request: Request, bundle: Bundle, settings: ServeSettings) -> list[Any]:
    """The request's inputs, within the size and count limits."""
    limit = int(settings.max_request_mb * (1 << 20))
    body = await _body(request, limit)
    numeric = getattr(bundle.reader, "numeric_columns", ())  # a table model's number columns
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":

        async def replay() -> dict[str, Any]:  # the body already read, for the form parser
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_files=settings.max_items, max_part_size=limit)
        except Exception as exc:  # starlette's MultiPartException and parser errors: a malformed upload
            if "Too many files" in str(exc):  # more parts than --max-items: a count limit, as for JSON (413)
                message = f"More than {settings.max_items} files; this server takes at most that many a request."
                raise RequestError(413, ["body", "files"], message) from None
            raise RequestError(422, ["body", "files"], f"The multipart body cannot be read ({exc}).") from None
        files = [
            (part.filename or "file", await part.read()) for part in form.getlist("files") if hasattr(part, "read")
        ]
        return file_inputs(files, modality=bundle.modality, max_items=settings.max_items, numeric=numeric)
    return json_inputs(body, modality=bundle.modality, max_items=settings.max_items, numeric=numeric)


def _one_thread(bundle: Bundle) -> bool:
    """Whether the bundle's onnxruntime session runs each call on the calling thread alone."""
    return bundle.session.get_session_options().intra_op_num_threads == 1


def create_app(bundle: Bundle, settings: ServeSettings | None = None) -> FastAPI:
    """The HTTP API over `bundle` with dynamic batching (one batch worker per process)."""
    settings = settings or ServeSettings()
    predict = AdaptiveCallSize(
        partial(bundle.predict, truncate=settings.truncate),
        max_size=settings.max_batch,
        fixed=settings.call_size,
        cpu_time=settings.pipeline > 1 and _one_thread(bundle),  # each call on its own core: its CPU is its cost
    )
    batcher = DynamicBatcher(
        predict,
        max_batch=settings.max_batch,
        max_wait_s=settings.max_wait_ms / 1000,
        max_queue=settings.max_queue,
        next_size=predict.next_size,
        pipeline=settings.pipeline,
        # the largest shapes a call can bring, run at start: the arena reaches its peak before serving, not in steps
        warm_up=partial(bundle.warm_up, settings.max_batch) if settings.warm_up else None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await batcher.start()
        yield
        await batcher.stop()  # after uvicorn's graceful shutdown let in-flight requests finish

    app = FastAPI(
        title="transferkit model server",
        version=__version__,
        description=f"A {bundle.modality} {bundle.task['name']} model exported by transferkit; POST /predict.",
        lifespan=lifespan,
    )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        stats = batcher.stats
        counts = {"waiting": batcher.waiting, "batches": stats.batches, "inputs": stats.inputs}
        counts["busy_s"] = round(stats.busy_s, 3)
        return {"status": "ok"} | counts | predict.report()

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        return bundle.metadata() | {"serving": settings.to_dict(), "input_field": FIELDS[bundle.modality]}

    @app.post("/predict", openapi_extra=_request_schema(bundle.modality))
    async def predict_route(request: Request) -> JSONResponse:
        try:
            items = await _inputs(request, bundle, settings)
            predictions = await asyncio.wait_for(batcher.submit(items), settings.timeout_s)
        except RequestError as error:
            return JSONResponse(error.body(), status_code=error.status)
        except QueueFull as exc:
            return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "1"})
        except TimeoutError:
            detail = f"No answer within {settings.timeout_s:g} s (--timeout); retry, or send fewer inputs."
            return JSONResponse({"detail": detail}, status_code=504)
        except TransferKitError as exc:  # the runtime refused an input (undecodable image, text over the limit)
            index = [exc.index] if isinstance(exc, InputError) else []
            error = RequestError(422, ["body", FIELDS[bundle.modality], *index], str(exc))
            return JSONResponse(error.body(), status_code=422)
        return JSONResponse({"predictions": predictions})

    return app


def app_from_environment() -> FastAPI:
    """The app of one `serve --workers N` process: bundle folder and settings from $TRANSFERKIT_SERVE."""
    config = json.loads(os.environ[ENVIRONMENT])
    settings = ServeSettings(**config["settings"])
    return create_app(
        load_bundle(config["bundle"], precision=settings.precision, threads=settings.model_threads()), settings
    )
