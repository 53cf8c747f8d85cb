"""`transferkit generate`: parsing and printing only; the work is transferkit.generation.api.

Imports only typer and rich at module level, so `transferkit --help` loads no torch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from transferkit.terminal import stdout_console

EXAMPLE = (
    'Example: transferkit generate runs/reviews/model --prompt "this coffee" --max-new-tokens 40 --temperature 0.7'
)
out = stdout_console()


# Long: one typer option per sampling setting, each with its help text.
def generate(
    model: Path = typer.Argument(..., help="A language-model folder (runs/NAME/model) or its exported ONNX bundle."),
    prompt: str = typer.Option(None, "--prompt", help="One prompt: the continuation streams to the terminal."),
    input: Path = typer.Option(None, "--input", help="Prompts: a CSV / JSONL (see --prompt-column) or .txt file."),
    output: Path = typer.Option(None, help="--input: the CSV to write (prompt, generation) [generations.csv]."),
    prompt_column: str = typer.Option(None, help="--input table: the prompt column [the training one]."),
    max_new_tokens: int = typer.Option(64, help="Most tokens to generate per prompt."),
    temperature: float = typer.Option(0.0, help="0: greedy (deterministic); above 0: sample at this temperature."),
    top_p: float = typer.Option(1.0, help="Sampling: keep the smallest set of tokens with this total probability."),
    stop: list[str] = typer.Option(None, "--stop", help="Stop at this string (repeatable); it is left out."),
    seed: int = typer.Option(0, help="Random seed for sampling."),
    batch_size: int = typer.Option(8, help="--input: prompts per batch."),
) -> None:
    """Continue prompts with an adapted language model: stream one --prompt, or write --input's prompts to a CSV."""
    from transferkit.errors import ConfigError

    if (prompt is None) == (input is None):
        raise ConfigError("Give --prompt TEXT (streamed) or --input FILE (written to --output), one of the two.")
    if (model / "bundle.json").is_file():  # an exported bundle: onnxruntime, no torch
        if temperature > 0 or top_p < 1:
            raise ConfigError("A bundle generates greedily; drop --temperature / --top-p (or use the model folder).")
        options = {"max_new_tokens": max_new_tokens, "stop": list(stop) if stop else None}
        _from_bundle(model, prompt, input, output, prompt_column, batch_size, options)
        return
    from transferkit.generation.api import generate as run_generate
    from transferkit.generation.api import stream
    from transferkit.generation.sampling import Sampling

    sampling = Sampling(
        max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=tuple(stop or ()), seed=seed
    )
    if prompt is not None:
        for piece in stream(model, prompt, sampling=sampling):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return
    target = output or Path("generations.csv")
    frame = run_generate(
        model, input=input, output=target, prompt_column=prompt_column, sampling=sampling, batch_size=batch_size
    )
    out.print(f"Wrote {len(frame)} generations to {target}", markup=False, highlight=False)


def _from_bundle(model: Path, prompt, input, output, prompt_column, batch_size: int, options: dict) -> None:
    """`generate` on a bundle folder (transferkit export --format onnx): greedy, with transferkit.runtime only."""
    import pandas as pd

    from transferkit.data.text_tables import read_table, require_column
    from transferkit.errors import DataError
    from transferkit.run_folder import check_output, write_output
    from transferkit.runtime.generator import load_generator

    generator = load_generator(model)
    if prompt is not None:
        for piece in generator.stream(prompt, **options):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return
    target = check_output(output or Path("generations.csv"))
    if input.suffix.lower() == ".txt":
        prompts = [part.strip() for part in input.read_text(encoding="utf-8").split("\n\n") if part.strip()]
    else:
        frame, bad = read_table(input)
        if bad:
            raise DataError(f"{input}: {len(bad)} row(s) cannot be decoded; fix or remove them.")
        require_column(frame, prompt_column or "prompt", option="--prompt-column", path=input)
        prompts = [str(value) for value in frame[prompt_column or "prompt"].fillna("")]
    texts = generator.generate(prompts, batch_size=batch_size, **options)
    write_output(target, pd.DataFrame({"prompt": prompts, "generation": texts}).to_csv(index=False))
    out.print(f"Wrote {len(texts)} generations to {target}", markup=False, highlight=False)
