"""fit --task causal-lm / seq2seq-pairs on a tiny random Llama, end to end: held-out scores against the base,
the model folder (adapter identity, checksums, merge), resume, predict / evaluate / generate and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import transferkit
from transferkit.cli import run
from transferkit.errors import ArtifactError
from transferkit.generation.api import evaluate_route, generate
from transferkit.generation.export import export_merged
from transferkit.generation.folder import load_model

from .conftest import corpus_lines


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    pd.DataFrame({"review": corpus_lines(160)}).to_csv(folder / "train.csv", index=False)
    pd.DataFrame({"review": corpus_lines(30, seed=1)}).to_csv(folder / "test.csv", index=False)
    return folder


def _fit(data: Path, backbone: Path, runs: Path, name: str, **options):
    defaults = {"task": "causal-lm", "text_column": "review", "max_length": 32, "batch_size": 8, "report": True}
    return transferkit.fit(str(data), backbone=f"hf:{backbone}", output_dir=str(runs), name=name, **defaults | options)


def test_full_finetune_lowers_heldout_perplexity_and_the_folder_generates(
    corpus: Path, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    result = _fit(
        corpus / "train.csv",
        tiny_llama_dir,
        tmp_path,
        "full",
        strategy="finetune",
        lr=3e-3,
        epochs=3,
        test_data=str(corpus / "test.csv"),
    )
    test = result.metrics["test"]
    assert test["perplexity"] < 0.5 * test["base_perplexity"]  # a random model learns the small vocabulary
    assert result.metrics["gain"]["perplexity_reduction"] > 0.5
    assert {"base", "adapted", "prompt", "reference"} <= set(result.metrics["samples"][0])
    assert (result.run_dir / "report.html").read_text().count("<tr>") > 4
    model_dir = result.model_dir
    assert json.loads((model_dir / "model.json").read_text())["weights"]["kind"] == "full"
    again = evaluate_route(model_dir, corpus / "test.csv")
    assert again["perplexity"] == pytest.approx(test["perplexity"], rel=1e-3)  # the saved model is the scored one
    frame = generate(model_dir, prompts=["the coffee", "my cat"], output=tmp_path / "g.csv")
    assert list(frame.columns) == ["prompt", "generation"] and (tmp_path / "g.csv").is_file()
    assert transferkit.predict(model_dir, texts=["the tea"])["generation"].str.len().iloc[0] > 0
    assert run(["generate", str(model_dir), "--prompt", "the coffee", "--max-new-tokens", "5"]) == 0


def test_lora_adapter_carries_the_base_identity_merges_and_resumes(
    corpus: Path, tiny_llama_dir: Path, tmp_path: Path
) -> None:
    result = _fit(
        corpus / "train.csv", tiny_llama_dir, tmp_path, "lora", strategy="lora", lr=1e-2, epochs=2, lora_rank=4
    )
    manifest = json.loads((result.model_dir / "model.json").read_text())
    assert manifest["weights"]["kind"] == "lora" and manifest["weights"]["file"].endswith(".safetensors")
    assert manifest["base"]["checksum"] == result.metrics["backbone"]["weights"]["checksum"]
    assert result.metrics["test"]["perplexity"] < result.metrics["test"]["base_perplexity"]
    lm, _ = load_model(result.model_dir)
    assert hasattr(lm.model, "peft_config")
    # The merged export loads as a plain hf: model and gives the adapted model's perplexity.
    export = export_merged(result.model_dir, bundle=tmp_path / "merged")
    assert export.max_abs_diff < 1e-3 and (tmp_path / "merged" / "model.safetensors").is_file()
    assert (
        run(["export", str(result.model_dir), "--format", "transformers", "--bundle", str(tmp_path / "cli-merged")])
        == 0
    )
    assert (tmp_path / "cli-merged" / "config.json").is_file()
    # Resume: the base is not scored again and the history keeps the first attempt's epochs.
    resumed = transferkit.fit(resume=str(result.run_dir))
    assert [row["epoch"] for row in resumed.metrics["history"]] == [0, 1]
    assert resumed.metrics["test"]["base_perplexity"] == result.metrics["test"]["base_perplexity"]
    # Another base, or a changed adapter file: refused, naming the problem.
    manifest["base"]["checksum"] = "0" * 64
    (result.model_dir / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"trained on .* give it the same base model"):
        load_model(result.model_dir)
    (result.model_dir / manifest["weights"]["file"]).write_bytes(b"changed")
    with pytest.raises(ArtifactError, match="does not match the checksum"):
        load_model(result.model_dir)


def test_pairs_learn_the_response_with_the_chat_template(tiny_chat_llama_dir: Path, tmp_path: Path) -> None:
    lines = corpus_lines(140, seed=2)
    frame = pd.DataFrame({"review": lines, "score": ["great" if "great" in t else "other" for t in lines]})
    frame.to_csv(tmp_path / "pairs.csv", index=False)
    result = _fit(
        tmp_path / "pairs.csv",
        tiny_chat_llama_dir,
        tmp_path / "runs",
        "pairs",
        task="seq2seq-pairs",
        prompt_template="Review: {review}",
        response_column="score",
        strategy="finetune",
        lr=3e-3,
        epochs=4,
        max_length=48,
        merge=False,
    )
    test = result.metrics["test"]
    assert result.metrics["data"]["chat_template"] is True
    assert test["exact_match"] >= 0.5 > test["base_exact_match"]  # the base few-shot echoes noise
    generations = pd.read_csv(result.run_dir / "generations.csv")
    assert list(generations.columns) == ["prompt", "reference", "base", "adapted"]
    assert set(generations["adapted"]) <= {"great", "other"} or test["exact_match"] > 0.5
    pd.DataFrame({"review": ["the coffee is great"]}).to_csv(tmp_path / "prompts.csv", index=False)
    frame = generate(result.model_dir, input=tmp_path / "prompts.csv")  # the training template fills the prompt
    assert frame["prompt"].tolist() == ["Review: the coffee is great"]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, tiny_llama_dir: Path, capsys) -> None:
    pd.DataFrame({"question": ["a"], "answer": ["b"]}).to_csv(tmp_path / "p.csv", index=False)
    code = run(
        [
            "fit",
            str(tmp_path / "p.csv"),
            "--task",
            "seq2seq-pairs",
            "--backbone",
            f"hf:{tiny_llama_dir}",
            "--output-dir",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 2 and "no column 'prompt'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing claimed before the data is checked
    (tmp_path / "empty.txt").write_text("")
    assert run(["fit", str(tmp_path / "empty.txt"), "--task", "causal-lm", "--backbone", f"hf:{tiny_llama_dir}"]) == 2
    assert run(["generate", str(tmp_path)]) == 2
