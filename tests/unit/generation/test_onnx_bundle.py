"""A LoRA-adapted language model exported as a torch-free bundle: the merged decoder in ONNX with past key/values,
and the runtime (onnxruntime + numpy + tokenizers) choosing the same greedy tokens as PyTorch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import transferkit
from transferkit.cli import run
from transferkit.errors import ArtifactError
from transferkit.generation.api import generate
from transferkit.generation.folder import load_model
from transferkit.generation.onnx_export import export_generator
from transferkit.generation.sampling import Sampling, generate_texts
from transferkit.runtime.generator import load_generator

from .conftest import corpus_lines

PROMPTS = ["the coffee is", "my cat likes these", "do not buy"]


@pytest.fixture(scope="module")
def lora_run(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("onnx-lm")
    pd.DataFrame({"review": corpus_lines(80)}).to_csv(folder / "train.csv", index=False)
    return transferkit.fit(
        str(folder / "train.csv"),
        task="causal-lm",
        text_column="review",
        backbone=f"hf:{tiny_llama_dir}",
        output_dir=str(folder / "runs"),
        name="lora",
        strategy="lora",
        lora_rank=4,
        lr=1e-2,
        epochs=1,
        max_length=32,
        batch_size=8,
        report=False,
    )


def test_runtime_greedy_tokens_equal_pytorch_and_the_bundle_is_checked(lora_run, tmp_path: Path, capsys) -> None:
    bundle = tmp_path / "bundle"
    assert (
        run(
            [
                "export",
                str(lora_run.model_dir),
                "--bundle",
                str(bundle),
                *[arg for p in PROMPTS for arg in ("--check", p)],
            ]
        )
        == 0
    )
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert manifest["parity"]["tokens_agree"] == 1.0 and manifest["parity"]["max_abs_diff"] < 1e-3
    assert {"decoder.onnx", "tokenizer.json"} == set(manifest["files"])
    generator = load_generator(bundle)
    # Batched with left padding (prompts of different lengths) and 20 steps of cache: still PyTorch's tokens.
    lm, _ = load_model(lora_run.model_dir)
    theirs = generate_texts(lm, PROMPTS, sampling=Sampling(max_new_tokens=20), batch_size=3)
    assert generator.generate(PROMPTS, max_new_tokens=20, batch_size=3) == theirs
    assert "".join(generator.stream(PROMPTS[0], max_new_tokens=20)).strip() == theirs[0]
    capsys.readouterr()
    assert run(["generate", str(bundle), "--prompt", PROMPTS[0], "--max-new-tokens", "20"]) == 0  # no torch used
    assert capsys.readouterr().out.strip() == theirs[0]
    assert run(["generate", str(bundle), "--prompt", "x", "--temperature", "0.7"]) == 2  # greedy only
    (bundle / "tokenizer.json").write_text("{}")
    with pytest.raises(ArtifactError, match="does not match its checksum"):
        load_generator(bundle)


def test_transformers_format_and_bad_options(lora_run, tmp_path: Path) -> None:
    assert run(["export", str(lora_run.model_dir), "--format", "transformers", "--bundle", str(tmp_path / "hf")]) == 0
    assert (tmp_path / "hf" / "model.safetensors").is_file()
    assert run(["export", str(lora_run.model_dir), "--format", "torchscript", "--bundle", str(tmp_path / "x")]) == 2
    assert run(["export", str(lora_run.model_dir)]) == 2  # ONNX needs --bundle


def test_the_runtime_imports_no_torch() -> None:
    code = "import sys, transferkit.runtime.generator; print('torch' in sys.modules, 'transformers' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_a_chat_template_pairs_model_writes_prompts_as_in_training(tiny_chat_llama_dir: Path, tmp_path: Path) -> None:
    lines = corpus_lines(60, seed=2)
    frame = pd.DataFrame({"review": lines, "score": ["great" if "great" in t else "other" for t in lines]})
    frame.to_csv(tmp_path / "pairs.csv", index=False)
    result = transferkit.fit(
        str(tmp_path / "pairs.csv"),
        task="seq2seq-pairs",
        prompt_template="Review: {review}",
        response_column="score",
        backbone=f"hf:{tiny_chat_llama_dir}",
        strategy="finetune",
        lr=3e-3,
        epochs=1,
        max_length=48,
        output_dir=str(tmp_path / "runs"),
        name="pairs",
        report=False,
    )
    export = export_generator(result.model_dir, tmp_path / "bundle", check_prompts=["Review: the tea was stale"])
    generator = load_generator(tmp_path / "bundle")
    assert generator.format_prompt("X").startswith("<|user|>X<|end|>") and export.tokens_agree == 1.0
    prompts = ["Review: the coffee is great", "Review: do not buy this snack"]
    assert generator.generate(prompts) == generate(result.model_dir, prompts=prompts)["generation"].tolist()
