"""Streamed batch prediction: same rows as the in-memory path, resumes without redoing chunks, never mixes jobs.

A tiny random BERT (saved with its weights, so the folder is self-contained) keeps these in the unit tier; the
claims on real weights (ONNX parity, two processes) are in tests/integration/test_batch_predict.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.unit.workflows.batch_models import TEXTS, tiny_text_model
from transferkit.cli import run as cli
from transferkit.errors import ConfigError, DataError
from transferkit.workflows import batch_predict
from transferkit.workflows.batch_predict import ChunkPredictor, predict_batch
from transferkit.workflows.predict import predict
from transferkit.workflows.stream_inputs import StreamOptions, chunks, count_items, iter_items


class Killed(Exception):
    """Stands for a crash mid-job (pytest treats a real KeyboardInterrupt as the end of the session)."""


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_text_model(tmp_path_factory.mktemp("batch-model"))


@pytest.fixture
def inputs(tmp_path: Path) -> list[Path]:
    """The same 70 texts split over the four streamed formats (CSV, JSONL, TXT, Parquet)."""
    frame = pd.DataFrame({"text": TEXTS, "other": range(len(TEXTS))})
    frame[:20].to_csv(tmp_path / "a.csv", index=False)
    frame[20:40].to_json(tmp_path / "b.jsonl", orient="records", lines=True)
    (tmp_path / "c.txt").write_text("\n".join(TEXTS[40:55]) + "\n", encoding="utf-8")
    frame[55:].to_parquet(tmp_path / "d.parquet")
    return [tmp_path / name for name in ("a.csv", "b.jsonl", "c.txt", "d.parquet")]


def test_streamed_output_equals_in_memory_predict(text_model, inputs, tmp_path):
    result = predict_batch(text_model, inputs, output=tmp_path / "out.csv", chunk_size=16, batch_size=8)
    streamed = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    whole = predict(text_model, [str(path) for path in inputs])
    assert result.rows == len(TEXTS) and result.chunks == 5 and result.resumed_chunks == 0
    assert streamed["input"].tolist() == TEXTS == whole["input"].tolist()
    assert streamed["label"].tolist() == whole["label"].tolist()
    np.testing.assert_allclose(streamed["prob_good"], whole["prob_good"], atol=1e-6)
    assert not (tmp_path / "out.csv.partial").exists()
    assert sum(result.counts.values()) == len(TEXTS)


def test_interrupted_job_resumes_without_redoing_chunks(text_model, inputs, tmp_path, monkeypatch):
    reference = predict_batch(text_model, inputs, output=tmp_path / "ref.jsonl", chunk_size=16)
    calls, resuming = [], False
    original = ChunkPredictor.__call__

    def crash_on_third(self, items):
        calls.append(len(items))
        if len(calls) == 3 and not resuming:
            raise Killed  # as a crash or a kill between chunks
        return original(self, items)

    monkeypatch.setattr(ChunkPredictor, "__call__", crash_on_third)
    output = tmp_path / "out.jsonl"
    with pytest.raises(Killed):
        predict_batch(text_model, inputs, output=output, chunk_size=16)
    assert not output.exists()  # the final file never exists half-written
    assert sorted(p.name for p in (tmp_path / "out.jsonl.partial").iterdir()) == [
        "chunk-00000000.jsonl",
        "chunk-00000001.jsonl",
        "job.json",
    ]
    calls.clear()
    resuming = True
    result = predict_batch(text_model, inputs, output=output, chunk_size=16)
    assert result.resumed_chunks == 2 and len(calls) == 3  # chunks 2, 3, 4 only
    assert output.read_text(encoding="utf-8") == (tmp_path / "ref.jsonl").read_text(encoding="utf-8")
    assert reference.rows == result.rows == len(TEXTS)


def test_a_different_job_is_refused_until_restart(text_model, inputs, tmp_path, monkeypatch):
    output = tmp_path / "out.csv"
    monkeypatch.setattr(ChunkPredictor, "__call__", lambda self, items: (_ for _ in ()).throw(Killed))
    with pytest.raises(Killed):
        predict_batch(text_model, inputs, output=output, chunk_size=16)
    # nothing was predicted: the attempt leaves no folder
    assert not (tmp_path / "out.csv.partial").exists()
    monkeypatch.undo()
    calls = []
    original = ChunkPredictor.__call__

    def crash_on_second(self, items):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return original(self, items)

    monkeypatch.setattr(ChunkPredictor, "__call__", crash_on_second)
    with pytest.raises(Killed):
        predict_batch(text_model, inputs, output=output, chunk_size=16)
    monkeypatch.undo()
    with pytest.raises(ConfigError, match=r"different options.*--restart"):
        predict_batch(text_model, inputs, output=output, chunk_size=8)
    inputs[0].write_text("text\nchanged\n", encoding="utf-8")  # same options, other inputs: refused too
    with pytest.raises(ConfigError, match="different inputs"):
        predict_batch(text_model, inputs, output=output, chunk_size=16)
    result = predict_batch(text_model, inputs, output=output, chunk_size=16, restart=True)
    assert result.resumed_chunks == 0 and result.rows == len(TEXTS) - 19


def test_bad_input_fails_before_anything_is_written(text_model, tmp_path):
    (tmp_path / "rows.csv").write_text("review\nfine\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column .text.*--text-column"):
        predict_batch(text_model, [tmp_path / "rows.csv"], output=tmp_path / "out.csv")
    (tmp_path / "holes.csv").write_text('text\nfine\n""\nok\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"Row 2 of .*holes.csv has no text"):
        predict_batch(text_model, [tmp_path / "holes.csv"], output=tmp_path / "out.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holes.csv", "rows.csv"]


def test_folders_stream_in_the_order_fit_lists_them(tmp_path):
    from transferkit.data.folders import list_files

    for name in ("b/2.png", "b/1.png", "a.png", "a/z.png", "c/.hidden.png", ".d/x.png", "a/y/q.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    options = StreamOptions(modality="image")
    streamed = list(iter_items([tmp_path], options))
    assert streamed == [str(path) for path in list_files(tmp_path)]
    assert count_items([tmp_path], options) == 5
    assert [len(chunk) for chunk in chunks(iter(streamed), 2)] == [2, 2, 1]


def test_onnx_embed_runtime_matches_torch(text_model, inputs, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    torch_run = predict_batch(text_model, inputs[:1], output=tmp_path / "torch.csv", chunk_size=8)
    onnx_run = predict_batch(
        text_model, inputs[:1], output=tmp_path / "onnx.csv", chunk_size=8, embed_runtime_name="onnx"
    )
    a, b = pd.read_csv(tmp_path / "torch.csv"), pd.read_csv(tmp_path / "onnx.csv")
    np.testing.assert_allclose(a["prob_good"], b["prob_good"], atol=1e-5)
    assert torch_run.rows == onnx_run.rows == 20
    assert list((tmp_path / "cache" / "onnx").glob("*/embed.onnx"))  # exported once, into the cache
    with pytest.raises(ConfigError, match=r"embed_runtime.*torch, onnx"):
        predict_batch(text_model, inputs[:1], output=tmp_path / "x.csv", embed_runtime_name="tensorrt")


def test_cli_predict_streams_and_reports(text_model, inputs, tmp_path, capsys):
    code = cli(["predict", str(text_model), str(inputs[0]), "--output", str(tmp_path / "p.csv"), "--chunk-size", "7"])
    assert code == 0
    assert "Wrote 20 predictions" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "p.csv")) == 20
    job = batch_predict.job_identity(
        batch_predict.BatchJob(model=str(text_model), inputs=(str(inputs[0]),), output="x")
    )
    assert json.loads(json.dumps(job)) == job  # the job record is plain JSON


def test_on_a_terminal_the_bar_shows_rows_rate_and_time_left(text_model, inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich's switch: treat stderr as a terminal
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "1")
    predict_batch(text_model, inputs[:1], output=tmp_path / "p.csv", chunk_size=7)
    drawn = capsys.readouterr().err
    assert "Predicting" in drawn and "20/20" in drawn  # rows done of the total
    assert re.search(r"\d+\.\d/s", drawn) and re.search(r"\d:\d\d:\d\d", drawn)  # the rate, the time left


def test_a_regression_model_streams_and_counts_its_rows(tmp_path, capsys):
    """A number has no label column: the job still counts every row it wrote (it used to report 0)."""
    model = tiny_text_model(tmp_path / "regression", regression=True)
    texts = tmp_path / "texts.csv"
    pd.DataFrame({"text": TEXTS[:30]}).to_csv(texts, index=False)
    result = predict_batch(model, [texts], output=tmp_path / "out.csv", chunk_size=8)
    written = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert result.rows == 30 == len(written) and result.chunks == 4 and "label" not in written
    whole = predict(model, [str(texts)])
    value = next(column for column in whole.columns if column != "input")
    np.testing.assert_allclose(written[value], whole[value], atol=1e-5)
    assert cli(["predict", str(model), str(texts), "--output", str(tmp_path / "cli.csv")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert f"Wrote 30 predictions to {tmp_path / 'cli.csv'}" in printed and "()" not in printed


def test_image_folders_skip_or_name_unreadable_files(tmp_path, monkeypatch):
    import timm
    import torch
    from PIL import Image
    from safetensors.torch import save_file

    from transferkit.artifacts import save_model
    from transferkit.backbones import create_backbone
    from transferkit.models.heads import ClassifierHead
    from transferkit.models.transfer_model import TransferModel

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    save_file(timm.create_model("test_resnet", pretrained=False).state_dict(), str(tmp_path / "w.safetensors"))
    backbone = create_backbone("timm:test_resnet", weights=str(tmp_path / "w.safetensors"))
    head = ClassifierHead(in_features=backbone.num_features, num_classes=2)
    model = save_model(TransferModel(backbone, head, ["dark", "light"]).eval(), tmp_path / "m", backbone_trained=True)
    photos = tmp_path / "photos"
    (photos / "more").mkdir(parents=True)
    for index in range(5):
        Image.new("RGB", (20, 20), (index * 50, 0, 0)).save(photos / ("more" if index % 2 else ".") / f"{index}.png")
    (photos / "more" / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"broken\.png.*--skip-bad-files"):
        predict_batch(model, [photos], output=tmp_path / "out.csv", chunk_size=4)
    assert batch_predict.written_chunks(tmp_path / "out.csv.partial") == {0}  # the chunk before the bad file
    result = predict_batch(model, [photos], output=tmp_path / "out.csv", chunk_size=4, skip_bad_files=True)
    assert result.rows == 5 and result.skipped == 1 and result.resumed_chunks == 1
    onnx = predict_batch(
        model, [photos], output=tmp_path / "onnx.csv", chunk_size=4, skip_bad_files=True, embed_runtime_name="onnx"
    )
    a, b = pd.read_csv(tmp_path / "out.csv"), pd.read_csv(tmp_path / "onnx.csv")
    assert onnx.rows == 5 and a["input"].tolist() == b["input"].tolist()
    np.testing.assert_allclose(a["prob_light"], b["prob_light"], atol=1e-5)
