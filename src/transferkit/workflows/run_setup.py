"""Run folders for resumed and multi-process runs.

`transferkit fit --resume runs/X` reads runs/X/config.yaml and continues from runs/X/checkpoints/last.ckpt.

With ``--devices N --distributed ddp`` Lightning starts N-1 more processes by re-running the same
command line (torchrun and SLURM start all N themselves). Only the primary process creates the run
folder and writes results; the others train, then return. Processes Lightning starts inherit the run
name through TRANSFERKIT_RUN_NAME, so they find the folder the primary created; under torchrun or
SLURM, pass --name so every process agrees on it.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.config import RunSpec
from transferkit.errors import ArtifactError, ConfigError
from transferkit.run_folder import RunFolder, open_spec_run_folder


def open_run_dir(spec: RunSpec, *, resume: str | Path | None = None) -> RunFolder:
    """Reopen `resume`, or claim the run folder and write config.yaml (primary process), or join the primary's."""
    return open_spec_run_folder(spec, resume=resume)


def resume_spec(run_dir: str | Path, *, other_options: bool) -> RunSpec:
    """The spec of the run in `run_dir`, to continue it from its last checkpoint.

    Example::

        spec = resume_spec("runs/reviews-minilm-two-stage", other_options=False)
    """
    run_dir = Path(run_dir)
    if other_options:
        raise ConfigError(
            f"--resume continues {run_dir} exactly as configured in its config.yaml; drop the other options "
            "(or start a new run with them)."
        )
    if not (run_dir / "config.yaml").is_file():
        raise ArtifactError(f"{run_dir} is not a transferkit run folder (no config.yaml); pass --resume runs/NAME.")
    return RunSpec.from_yaml(run_dir / "config.yaml")
