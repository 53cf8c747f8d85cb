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
    model: Path = typer.Argument(..., help="A language-model folder (runs/NAME/model from --task causal-lm / pairs)."),
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
    from transferkit.generation.api import generate as run_generate
    from transferkit.generation.api import stream
    from transferkit.generation.sampling import Sampling

    sampling = Sampling(
        max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, stop=tuple(stop or ()), seed=seed
    )
    if (prompt is None) == (input is None):
        raise ConfigError("Give --prompt TEXT (streamed) or --input FILE (written to --output), one of the two.")
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
