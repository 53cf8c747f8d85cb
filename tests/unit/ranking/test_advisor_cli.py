"""The static shortlist respects the budget and states trade-offs; the CLI commands print the same tables."""

from __future__ import annotations

import json

import pytest

from transferkit.cli import run
from transferkit.errors import ConfigError
from transferkit.ranking import recommend


def test_shortlist_respects_the_parameter_budget():
    shortlist = recommend(modality="text", n_samples=100, budget="params=10M", measure=False)
    assert shortlist.rows == []
    assert "bundled:minilm" in [row.spec for row in shortlist.excluded]
    assert all(row.params_m > 10 for row in shortlist.excluded)
    assert any("No backbone fits the budget" in note for note in shortlist.notes)
    roomy = recommend(modality="text", n_samples=100, budget="params=30M", measure=False)
    assert "bundled:minilm" in [row.spec for row in roomy.rows]
    assert all(row.params_m is None or row.params_m <= 30 for row in roomy.rows)


@pytest.mark.real_backbone
def test_shortlist_measures_latency_and_respects_a_latency_budget():
    measured = recommend(modality="text", n_samples=50, device="cpu", budget="params=30M")  # only small ones load
    row = next(r for r in measured.rows if r.spec == "bundled:minilm")
    assert row.latency_ms > 0 and row.memory_mb > 80  # at least the 86 MB of weights
    assert "encoder" in row.family and "understanding" in row.why
    assert "probe" in measured.notes[0]  # 50 examples: train a head on frozen features
    strict = recommend(modality="text", n_samples=50, budget=f"latency={row.latency_ms / 1000:.6f}ms,params=30M")
    assert "bundled:minilm" not in [r.spec for r in strict.rows]
    assert next(r for r in strict.excluded if r.spec == "bundled:minilm").over_budget[0].startswith("latency")


def test_image_shortlist_names_the_mobile_trade_off():
    shortlist = recommend(modality="image", n_samples=5000, device="cuda", measure=False)
    row = next(r for r in shortlist.rows if r.spec == "bundled:efficientnet_lite0")
    assert "mobile" in row.family and "CPU latency" in row.why
    assert any("fine-tuning" in note for note in shortlist.notes)


@pytest.mark.real_backbone
def test_audio_shortlist_describes_speech_encoders_and_measures_the_bundled_one():
    shortlist = recommend(modality="audio", n_samples=100)
    rows = {row.spec: row for row in shortlist.rows}
    whisper = rows["bundled:whisper-tiny-en"]
    assert whisper.family == "Whisper speech encoder" and "30-second window" in whisper.why
    assert whisper.params_m == 8.0 and whisper.latency_ms > 0  # measured on a one-second clip here
    assert rows["hf:facebook/wav2vec2-base"].family == "self-supervised speech encoder"
    assert not any("BERT" in row.family or "MiniLM" in row.why for row in shortlist.rows)


def test_shortlist_advice_for_other_modalities_and_bad_options():
    tabular = recommend(modality="tabular", n_samples=5000, measure=False)
    assert any("gradient-boosted trees" in note for note in tabular.notes)
    families = {row.spec: row.family for row in tabular.rows}
    assert families == {"tabular:columns": "table columns", "tabular:mlp": "tabular MLP"}
    assert "fine-tuning" in tabular.notes[0]
    with pytest.raises(ConfigError, match="modality"):
        recommend(modality="video", n_samples=10)
    with pytest.raises(ConfigError, match="device"):
        recommend(modality="text", n_samples=10, device="tpu")


def test_cli_recommend_json(capsys):
    assert run(["recommend", "--modality", "text", "--n-samples", "300", "--no-measure", "--json"]) == 0
    shortlist = json.loads(capsys.readouterr().out)
    assert shortlist["modality"] == "text"
    assert "bundled:minilm" in [row["spec"] for row in shortlist["rows"]]


@pytest.mark.e2e
def test_cli_rank_json(reviews_csv, capsys):
    args = ["rank", str(reviews_csv), "--candidates", "bundled:minilm", "--text-column", "review"]
    args += ["--label-column", "score", "--max-length", "64", "--split-column", "split", "--json"]
    assert run(args) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["recommended"] == "bundled:minilm" and table["data"]["examples"] == 60
    assert table["rows"][0]["scores"]["logme"] is not None and table["rows"][0]["scores"]["leep"] is None


def test_cli_rank_table_marks_candidates_over_budget(reviews_csv, capsys):
    args = ["rank", str(reviews_csv), "--candidates", "bundled:minilm", "--text-column", "review"]
    assert run([*args, "--label-column", "score", "--budget", "params=5M"]) == 0  # never loaded: over budget
    printed = capsys.readouterr().out
    assert "params 22.7M > 5M" in printed and "No candidate is within the budget" in printed


def test_cli_rank_user_error_exits_2(reviews_csv, capsys):
    assert run(["rank", str(reviews_csv), "--budget", "speed=fast"]) == 2
    assert "budget" in capsys.readouterr().err
