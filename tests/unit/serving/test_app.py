"""The HTTP API (FastAPI TestClient): predictions equal the runtime's, and bad requests get 4xx naming the field."""

import base64
import io
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.unit.runtime.tiny_bundles import table_bundle, tiny_image_bundle
from transferkit.runtime import load_bundle
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
