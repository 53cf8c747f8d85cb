"""Lightning Trainer factory: one place that decides devices, logging, checkpoints and progress."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger

from transferkit.progress import progress_enabled


class HistoryCallback(Callback):
    """Keeps the per-epoch logged metrics so they can go into metrics.json and the report."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        row = {"epoch": trainer.current_epoch}
        row.update({key: round(float(value), 6) for key, value in trainer.callback_metrics.items()})
        self.epochs.append(row)


def quiet_lightning() -> None:
    """Lightning's banner lines and data-loader hints are noise for a CLI user."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*is smaller than the logging interval.*")
    warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")


def build_trainer(*, run_dir: Path, max_epochs: int, callbacks: list[Callback] | None = None) -> L.Trainer:
    """A Trainer that checkpoints every epoch into run_dir/checkpoints and logs CSV into run_dir/logs."""
    quiet_lightning()
    all_callbacks: list[Callback] = [
        ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="last", save_top_k=1, every_n_epochs=1,
                        enable_version_counter=False),
        *(callbacks or []),
    ]
    if progress_enabled():
        all_callbacks.append(RichProgressBar(leave=False))
    return L.Trainer(
        accelerator="auto",
        devices=1,
        max_epochs=max_epochs,
        logger=CSVLogger(str(run_dir), name="logs", version=""),
        callbacks=all_callbacks,
        enable_progress_bar=progress_enabled(),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic=True,
    )
