"""What the commands call: `generate` (prompts or a CSV of prompts -> continuations), and the predict / evaluate
routes of a language-model folder (`transferkit predict` generates; `transferkit evaluate` scores held-out data)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from transferkit.data.text_tables import TABLE_SUFFIXES, read_table, require_column
from transferkit.errors import ConfigError, DataError
from transferkit.generation.corpus import read_pairs, read_texts, template_fields
from transferkit.generation.evaluation import pair_sampling
from transferkit.generation.folder import load_model
from transferkit.generation.lm import LanguageModel
from transferkit.generation.sampling import Sampling, generate_texts, stream_text
from transferkit.generation.scoring import pair_scores, perplexity
from transferkit.generation.tokens import encode_pairs, pack_texts, prompt_text
from transferkit.progress import progress_bar
from transferkit.run_folder import check_output, write_output


def chat_formatted(manifest: dict[str, Any]) -> bool:
    """Whether this model's prompts are written by its chat template (pairs tuned with one), not raw text."""
    return manifest["task"]["name"] != "causal-lm" and bool(manifest["format"].get("chat_template"))


def format_prompt(lm: LanguageModel, manifest: dict[str, Any], prompt: str) -> str:
    """The prompt as the model saw prompts in training: the chat template for pairs tuned with one."""
    if manifest["task"]["name"] == "causal-lm":
        return prompt
    return prompt_text(lm.tokenizer, prompt, chat=bool(manifest["format"].get("chat_template")))


def read_prompts(path: str | Path, manifest: dict[str, Any], *, column: str | None = None) -> list[str]:
    """Prompts from a .txt file or folder (one per paragraph) or a table: its --prompt-column, else the training
    prompt template filled from each row, else the training prompt (pairs) or text (corpus) column."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() not in TABLE_SUFFIXES:
        return read_texts(path)
    frame, bad = read_table(path)
    if bad:
        raise DataError(f"{path}: {len(bad)} row(s) cannot be decoded; fix or remove them.")
    record = manifest["format"]
    pairs = manifest["task"]["name"] == "seq2seq-pairs"
    template = record.get("prompt_template") if pairs and column is None else None
    if template is not None:
        unknown = [name for name in template_fields(template) if name not in frame.columns]
        if unknown:
            raise DataError(f"{path} lacks the columns {', '.join(unknown)} that the model's prompt template uses.")
        return [template.format(**row) for row in frame.fillna("").to_dict("records")]
    name = column or record.get("prompt_column" if pairs else "text_column") or "prompt"
    require_column(frame, name, option="--prompt-column", path=path)
    return [str(value) for value in frame[name].fillna("")]


def generate(
    model: str | Path,
    *,
    prompts: list[str] | None = None,
    input: str | Path | None = None,
    output: str | Path | None = None,
    prompt_column: str | None = None,
    sampling: Sampling = Sampling(),
    batch_size: int = 8,
) -> pd.DataFrame:
    """Continue each prompt with the adapted model of a model folder; a DataFrame (prompt, generation), also
    written to `output` as CSV.

    Example::

        generate("runs/reviews/model", prompts=["this coffee is"], sampling=Sampling(max_new_tokens=20))
    """
    if (prompts is None) == (input is None):
        raise ConfigError("Give prompts (--prompt) or an input file (--input), one of the two.")
    if output is not None:
        check_output(output)
    lm, manifest = load_model(model)
    items = list(prompts) if prompts is not None else read_prompts(input, manifest, column=prompt_column)
    if not items:
        raise DataError("No prompts to continue; give at least one non-empty prompt.")
    formatted = [format_prompt(lm, manifest, p) for p in items]
    with progress_bar("generating", total=len(items)) as advance:
        texts = generate_texts(
            lm,
            formatted,
            sampling=sampling,
            batch_size=batch_size,
            advance=advance,
            chat_formatted=chat_formatted(manifest),
        )
    frame = pd.DataFrame({"prompt": items, "generation": texts})
    if output is not None:
        write_output(Path(output), frame.to_csv(index=False))
    return frame


def stream(model: str | Path, prompt: str, *, sampling: Sampling = Sampling()) -> Iterator[str]:
    """Yield the continuation of one prompt as it is generated (for the terminal)."""
    lm, manifest = load_model(model)
    formatted = format_prompt(lm, manifest, prompt)
    yield from stream_text(lm, formatted, sampling=sampling, chat_formatted=chat_formatted(manifest))


def predict_route(model: str | Path, inputs: list | None, *, texts=None, output=None, batch_size: int = 8, **_):
    """`transferkit predict` on a language-model folder: greedy continuations of each input prompt."""
    if texts is not None:
        return generate(model, prompts=list(texts), output=output, batch_size=batch_size)
    if not inputs or len(inputs) != 1:
        raise DataError("A language model predicts from one prompts file (CSV / JSONL / .txt); pass exactly one.")
    return generate(model, input=inputs[0], output=output, batch_size=batch_size)


def evaluate_route(model: str | Path, data: str | Path, *, output=None, batch_size: int = 8, **_) -> dict[str, Any]:
    """`transferkit evaluate`: perplexity on a corpus (causal-lm), or perplexity + exact match / ROUGE-L on pairs."""
    if output is not None:
        check_output(output)
    lm, manifest = load_model(model)
    record = manifest["format"]
    block = int(record["block_size"])
    pad_id = lm.tokenizer.pad_token_id
    if manifest["task"]["name"] == "causal-lm":
        rows = pack_texts(lm.tokenizer, read_texts(data, text_column=record["text_column"]), block_size=block).rows()
        metrics = perplexity(lm.model, rows, pad_id=pad_id, batch_size=batch_size) | {"num_examples": len(rows)}
    else:
        pairs = read_pairs(
            data,
            prompt_column=record["prompt_column"],
            response_column=record["response_column"],
            template=record.get("prompt_template"),
        )
        rows, _ = encode_pairs(lm.tokenizer, pairs, block_size=block, chat=bool(record.get("chat_template")))
        metrics = perplexity(lm.model, rows, pad_id=pad_id, batch_size=batch_size)
        prompts = [format_prompt(lm, manifest, p.prompt) for p in pairs]
        sampling = pair_sampling(lm, [p.response for p in pairs])
        answers = generate_texts(
            lm, prompts, sampling=sampling, batch_size=batch_size, chat_formatted=chat_formatted(manifest)
        )
        metrics |= pair_scores(answers, [p.response for p in pairs]) | {"num_examples": len(pairs)}
    if output is not None:
        import json

        write_output(Path(output), json.dumps(metrics, indent=2))
    return metrics
