"""The HTTP API (FastAPI TestClient): predictions equal the runtime's, and bad requests get 4xx naming the field."""

import base64
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.unit.runtime.tiny_bundles import table_bundle, tiny_image_bundle
from transferkit.runtime import load_bundle
from transferkit.runtime.bundle import row_buckets
from transferkit.serving.app import create_app
from transferkit.serving.settings import ServeSettings


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    _, bundle_dir, rows = table_bundle(tmp_path_factory.mktemp("table"))
    return load_bundle(bundle_dir), [json.loads(row) for row in rows[:20]]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return load_bundle(tiny_image_bundle(tmp_path_factory.mktemp("image") / "bundle"))


def _png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 40), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_rows_predict_as_the_runtime_and_health_metadata_docs_answer(table):
    bundle, rows = table
    with TestClient(create_app(bundle, ServeSettings(max_items=20))) as client:
        answer = client.post("/predict", json={"rows": rows})
        assert answer.status_code == 200
        got = [[p["probabilities"][c] for c in bundle.output_names] for p in answer.json()["predictions"]]
        np.testing.assert_allclose(got, bundle.predict_proba(rows), atol=1e-6)
        assert client.get("/health").json()["inputs"] == 20
        metadata = client.get("/metadata").json()
        assert metadata["task"]["name"] == "classification" and metadata["outputs"] == ["malignant", "benign"]
        assert metadata["input_field"] == "rows" and metadata["parity"]["max_abs_diff"] <= 1e-4
        assert client.get("/docs").status_code == 200
        assert "multipart/form-data" in json.dumps(client.get("/openapi.json").json()["paths"]["/predict"])
        header = ",".join(rows[0])
        csv = f"{header}\n{','.join(str(rows[0][c]) for c in rows[0])}\n"
        from_file = client.post("/predict", files=[("files", ("rows.csv", csv.encode()))])
        assert from_file.json()["predictions"][0] == answer.json()["predictions"][0]


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({"rows": "x"}, 422, ["body", "rows"]),
        ({"rows": [1]}, 422, ["body", "rows", 0]),
        ({"texts": ["a"]}, 422, ["body", "rows"]),
        ({"rows": []}, 422, ["body", "rows"]),
        ({"rows": [{}] * 21}, 413, ["body", "rows"]),
        ({"rows": [{"mean radius": "1"}]}, 422, ["body", "rows", 0]),
        ([1, 2], 422, ["body"]),
    ],
)
def test_bad_requests_get_4xx_json_naming_the_field(table, body, status, loc):
    bundle, rows = table
    with TestClient(create_app(bundle, ServeSettings(max_items=20)), raise_server_exceptions=False) as client:
        answer = client.post("/predict", json=body)
        assert answer.status_code == status and answer.json()["detail"][0]["loc"] == loc
        assert client.post("/predict", json={"rows": rows[:1]}).status_code == 200  # and it keeps serving


@pytest.mark.parametrize("value", ["abc", [1, 2], {"a": 1}, float("inf"), "1e400"])
def test_a_cell_that_is_not_a_number_gets_422_naming_row_and_column(table, value):
    """The runtime would read it as missing (as training's pandas.to_numeric(errors="coerce") does) and predict
    from the median: the server refuses it instead; an inf cell made NaN probabilities and a 500 before."""
    bundle, rows = table
    row = dict(rows[0]) | {"mean radius": value}
    csv = ",".join(f'"{c}"' for c in row) + "\n" + ",".join(f'"{v}"' for v in row.values()) + "\n"
    with TestClient(create_app(bundle, ServeSettings()), raise_server_exceptions=False) as client:
        body = json.dumps({"rows": [rows[1], row]})  # Python's json writes inf as Infinity, and reads it back
        answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "rows", 1, "mean radius"]
        if isinstance(value, str):
            from_file = client.post("/predict", files=[("files", ("rows.csv", csv.encode()))])
            assert from_file.status_code == 422
            assert from_file.json()["detail"][0]["loc"] == ["body", "files", 0, 0, "mean radius"]
        blank = client.post("/predict", json={"rows": [dict(rows[0]) | {"mean radius": None}]})
        assert blank.status_code == 200  # a missing value is still the column's median, as in training


def test_timeout_queue_limit_and_a_chunked_body_over_the_limit(table):
    bundle, rows = table
    with TestClient(create_app(bundle, ServeSettings(timeout_s=0)), raise_server_exceptions=False) as client:
        late = client.post("/predict", json={"rows": rows[:1]})
        assert late.status_code == 504 and "--timeout" in late.json()["detail"]
    with TestClient(create_app(bundle, ServeSettings(max_queue=0)), raise_server_exceptions=False) as client:
        full = client.post("/predict", json={"rows": rows[:1]})
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
    with TestClient(create_app(bundle, ServeSettings(max_items=2)), raise_server_exceptions=False) as client:
        parts = [("files", (f"{i}.csv", b"a\n1\n")) for i in range(3)]  # more files than --max-items, as for JSON
        assert client.post("/predict", files=parts).status_code == 413
    with TestClient(create_app(bundle, ServeSettings(max_request_mb=0.01)), raise_server_exceptions=False) as client:
        chunks = iter([b'{"rows": [', b" " * 20_000, b"]}"])  # no Content-Length: read until past the limit
        chunked = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
        assert chunked.status_code == 413 and chunked.json()["detail"][0]["loc"] == ["body"]
        assert client.post("/predict", json={"rows": rows[:1]}).status_code == 200


def test_images_base64_and_multipart_and_their_errors(image):
    with TestClient(create_app(image, ServeSettings(max_request_mb=0.01))) as client:
        light, dark = _png((250, 250, 250)), _png((5, 5, 5))
        encoded = [base64.b64encode(x).decode() for x in (light, dark)]
        answer = client.post("/predict", json={"images": encoded}).json()["predictions"]
        assert answer == image.predict([light, dark])
        files = client.post("/predict", files=[("files", ("a.png", light)), ("files", ("b.png", dark))]).json()
        assert files["predictions"] == answer
        not_base64 = client.post("/predict", json={"images": [encoded[0], "%%%"]})
        assert not_base64.status_code == 422 and not_base64.json()["detail"][0]["loc"] == ["body", "images", 1]
        undecodable = client.post("/predict", json={"images": [base64.b64encode(b"GIF89a broken").decode()]})
        assert undecodable.status_code == 422 and "not a readable image" in undecodable.json()["detail"][0]["msg"]
        oversized = client.post("/predict", json={"images": [encoded[0]] * 200})
        assert oversized.status_code == 413 and "limit" in oversized.json()["detail"][0]["msg"]
        assert client.get("/health").json()["status"] == "ok"


class _Recorder:
    """The bundle's onnxruntime session, recording the shape of every call and the thread that made it."""

    def __init__(self, session) -> None:
        self.session = session
        self.calls: list[tuple[int, tuple[int, ...]]] = []
        self.lock = threading.Lock()

    def run(self, outputs, feed, options=None):
        with self.lock:
            self.calls.append((threading.get_ident(), next(iter(feed.values())).shape))
        return self.session.run(outputs, feed, options)

    def __getattr__(self, name):
        return getattr(self.session, name)


def _png64(colour: int) -> str:
    return base64.b64encode(_png((colour, 90, 200))).decode()


def test_the_default_server_feeds_onnxruntime_only_shapes_its_warm_up_ran(image):
    """Memory flat while serving: the arena cannot grow past what the warm-up (the largest calls on every model
    thread at once) reached, and the session keeps no block per new shape (no memory pattern)."""
    bundle = image
    assert bundle.session.get_session_options().enable_mem_pattern is False  # no block kept per new shape
    settings = ServeSettings()
    bundle.session = recorder = _Recorder(bundle.session)
    try:
        served = _serve_many_sizes(bundle, settings, recorder)
    finally:
        bundle.session = recorder.session
    warm = recorder.calls[: len(recorder.calls) - len(served)]
    largest = (settings.max_batch, 3, 32, 32)
    assert len(warm) == settings.pipeline * len(row_buckets(settings.max_batch))
    assert len({thread for thread, _ in warm}) == settings.pipeline  # every model thread warmed up
    assert {shape for _, shape in warm} == {(rows, 3, 32, 32) for rows in row_buckets(settings.max_batch)}
    firsts = {thread: shape for thread, shape in warm[::-1]}  # each thread's first call: the largest
    assert list(firsts.values()) == [largest] * settings.pipeline
    assert served and set(served) <= {shape for _, shape in warm}  # nothing past the warmed-up shapes


def _serve_many_sizes(bundle, settings, recorder) -> list[tuple[int, ...]]:
    """Concurrent requests of 1-21 images through the default server: the shapes the session was fed for them."""
    with TestClient(create_app(bundle, settings)) as client:
        warmed = len(recorder.calls)  # the lifespan ran the warm-up before the first request
        bodies = [{"images": [_png64(i + k) for k in range(n)]} for i, n in enumerate([1, 3, 5, 7, 13, 21])]
        with ThreadPoolExecutor(4) as pool:  # concurrent requests of many sizes, batched together
            answers = list(pool.map(lambda body: client.post("/predict", json=body), bodies * 2))
        assert [a.status_code for a in answers] == [200] * len(answers)
    return [shape for _, shape in recorder.calls[warmed:]]
