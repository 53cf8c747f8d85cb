"""Lightning Trainer factory: one place that decides devices, precision, logging, checkpoints and progress."""

from __future__ import annotations

import logging
import os
import random
import uuid
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning_utilities.core.apply_func import apply_to_collection

from transferkit.embedding_cache import close_process_group
from transferkit.errors import ArtifactError, ConfigError, require
from transferkit.progress import progress_enabled
from transferkit.run_folder import RUN_NAME_ENV, read_run_id

LAST_CHECKPOINT = "last.ckpt"
PRECISIONS = ("32-true", "bf16-mixed", "16-mixed", "64-true")
DISTRIBUTED = ("auto", "ddp", "ddp_spawn", "fsdp")


class HistoryCallback(Callback):
    """Keeps the per-epoch logged metrics for metrics.json and the report; saved in checkpoints, so a resumed
    run reports every epoch."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        row = {"epoch": trainer.current_epoch}
        row.update({key: round(float(value), 6) for key, value in trainer.callback_metrics.items()})
        self.epochs.append(row)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": [dict(row) for row in self.epochs]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = [dict(row) for row in state_dict["epochs"]]


class EpochSeed(Callback):
    """Reseed torch, numpy and random before each epoch's first batch from (seed, epoch, rank).

    Checkpoints are taken at epoch ends; with the random state a function of the epoch, a run resumed
    after a crash draws the same dropout masks and mixup weights as an uninterrupted one. (At the first
    batch, not the epoch start: Lightning creates the epoch's data iterator in between, only in epochs
    after the first of a process, and that may draw from the global generator.)
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(self, trainer: L.Trainer, module: L.LightningModule, batch: Any, index: int) -> None:
        if index != 0:
            return
        value = (self.seed * 1_000_003 + trainer.current_epoch * 1_009 + trainer.global_rank) % (2**32)
        torch.manual_seed(value)
        np.random.seed(value)
        random.seed(value)


class RunIdentity(Callback):
    """Stamps every checkpoint with the run id of its run folder and refuses, on resume, a checkpoint
    stamped by another run (copied in, or left by a run that shared the name)."""

    def __init__(self, run_id: str, run_dir: Path) -> None:
        self.run_id = run_id
        self.run_dir = run_dir

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("run_id") != self.run_id:
            raise ArtifactError(
                f"The checkpoint in {self.run_dir / 'checkpoints'} belongs to another run (id "
                f"{state_dict.get('run_id')}, this run is {self.run_id}); remove it or start a new run."
            )


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint under a temporary name and renames it into place: a kill -9 during the write
    leaves the previous checkpoint intact instead of a truncated file.

    The write runs in a background thread on a copy of the tensors, so the next epoch trains meanwhile
    (MiniLM with its AdamW state: 270 MB, 0.3 s per epoch on the critical path before, 0.03 s to copy).
    One write at a time, in order; the next save, a load and the end of training wait for it, and a
    failed write raises there. torch.save writes straight into the file: Lightning's default serialises
    the whole checkpoint into memory first and then copies it out.
    """

    def __init__(self) -> None:
        super().__init__()
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future | None = None

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("transferkit's checkpoints are local files; storage_options is not supported.")
        self.wait()
        # A snapshot: training goes on updating the live parameters and optimiser state in place.
        snapshot = apply_to_collection(checkpoint, torch.Tensor, lambda tensor: tensor.detach().clone())
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="transferkit-checkpoint")
        self._pending = self._writer.submit(self._write, snapshot, Path(path))

    @staticmethod
    def _write(checkpoint: dict[str, Any], path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            with open(temporary, "wb") as handle:
                torch.save(checkpoint, handle)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)  # nothing half-written stays behind
            raise

    def wait(self) -> None:
        """Block until the checkpoint being written is on disk; re-raise its error if the write failed."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def load_checkpoint(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        self.wait()
        return super().load_checkpoint(path, *args, **kwargs)

    def remove_checkpoint(self, path: Any) -> None:
        self.wait()
        super().remove_checkpoint(path)

    def teardown(self) -> None:
        try:
            self.wait()
        finally:
            if self._writer is not None:
                self._writer.shutdown(wait=True)
                self._writer = None


def quiet_lightning() -> None:
    """Lightning's banner lines and data-loader hints are noise for a CLI user."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*is smaller than the logging interval.*")
    warnings.filterwarnings("ignore", message=".*treespec, LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*sync_dist=True.*")
    warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode.*")  # frozen groups, on purpose


@dataclass
class TrainerOptions:
    """Devices, precision and callbacks of one training run.

    Example:
        >>> TrainerOptions(max_epochs=3, devices=2, distributed="ddp").accelerator
        'auto'
    """

    max_epochs: int
    seed: int = 0
    accelerator: str = "auto"
    devices: int = 1
    distributed: str = "auto"
    precision: str = "32-true"
    grad_clip: float | None = None
    early_stopping: int | None = None
    monitor: str = "val_loss"
    checkpoint: bool = True
    logger: str = "csv"
    max_seconds: float | None = None  # wall-clock limit of this run (Lightning's max_time): keeps a budget on busy CPUs


LOGGERS = ("csv", "tensorboard", "mlflow")


def make_logger(kind: str, *, run_dir: Path, name: str) -> Any:
    """The Lightning logger `kind`, writing under `run_dir` (tensorboard / mlflow only when installed).

    Example::

        make_logger("csv", run_dir=Path("runs/x"), name="logs").log_dir  # 'runs/x/logs'
    """
    if kind == "csv":
        return CSVLogger(str(run_dir), name=name, version="")
    if kind == "tensorboard":
        require("tensorboard", extra="tensorboard", purpose="The tensorboard logger (--logger tensorboard)")
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(str(run_dir), name=name, version="", default_hp_metric=False)
    if kind == "mlflow":
        require("mlflow", extra="mlflow", purpose="The mlflow logger (--logger mlflow)")
        from lightning.pytorch.loggers import MLFlowLogger

        # A file store inside the run folder: no tracking server needed, and the run stays self-contained.
        return MLFlowLogger(experiment_name=name, tracking_uri=(run_dir / "mlruns").resolve().as_uri())
    raise ConfigError(f"The 'logger' option must be one of {', '.join(LOGGERS)}. Got '{kind}'.")


def check_precision(precision: str, accelerator: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"The 'precision' option must be one of {', '.join(PRECISIONS)}. Got '{precision}'.")
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if precision == "16-mixed" and not on_gpu:
        raise ConfigError("The 'precision' option 16-mixed needs a GPU; on CPU use bf16-mixed or 32-true.")


def build_trainer(
    *, run_dir: Path, options: TrainerOptions, callbacks: list[Callback] | None = None, name: str = "logs"
) -> L.Trainer:
    """A Trainer that checkpoints every epoch into run_dir/checkpoints/last.ckpt and logs CSV into run_dir/logs.

    Example::

        trainer = build_trainer(run_dir=Path("runs/x"), options=TrainerOptions(max_epochs=2))
    """
    quiet_lightning()
    check_precision(options.precision, options.accelerator)
    if options.distributed not in DISTRIBUTED:
        raise ConfigError(
            f"The 'distributed' option must be one of {', '.join(DISTRIBUTED)}. Got '{options.distributed}'."
        )
    all_callbacks: list[Callback] = [EpochSeed(options.seed), *(callbacks or [])]
    run_id = read_run_id(run_dir) if options.checkpoint else None
    if run_id is not None:  # folders transferkit claimed (not lr-find's or a baseline's scratch folder)
        all_callbacks.append(RunIdentity(run_id, run_dir))
    if options.checkpoint:
        all_callbacks.append(
            ModelCheckpoint(
                dirpath=run_dir / "checkpoints",
                filename=LAST_CHECKPOINT.removesuffix(".ckpt"),
                save_top_k=1,
                every_n_epochs=1,
                save_on_train_epoch_end=True,  # after HistoryCallback has recorded the epoch
                enable_version_counter=False,
            )
        )
    if options.early_stopping:
        mode = "max" if "accuracy" in options.monitor else "min"
        all_callbacks.append(EarlyStopping(monitor=options.monitor, patience=options.early_stopping, mode=mode))
    if progress_enabled():
        # Progress goes to stderr so stdout stays for results (the bar would otherwise mix into piped output).
        all_callbacks.append(RichProgressBar(leave=False, console_kwargs={"stderr": True}))
    strategy: Any = options.distributed
    if options.distributed == "ddp" and options.devices > 1:
        from lightning.pytorch.strategies import DDPStrategy

        strategy = DDPStrategy(checkpoint_io=AtomicCheckpointIO())
    plugins = [] if strategy != options.distributed else [AtomicCheckpointIO()]
    return L.Trainer(
        accelerator=options.accelerator,
        devices=options.devices,
        strategy=strategy,
        precision=options.precision,
        max_epochs=options.max_epochs,
        max_time=None if options.max_seconds is None else timedelta(seconds=options.max_seconds),
        gradient_clip_val=options.grad_clip,
        logger=make_logger(options.logger, run_dir=run_dir, name=name),
        callbacks=all_callbacks,
        plugins=plugins,
        enable_checkpointing=options.checkpoint,
        enable_progress_bar=progress_enabled(),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=1,
        deterministic=True,
    )


def last_checkpoint(run_dir: Path) -> Path | None:
    path = Path(run_dir) / "checkpoints" / LAST_CHECKPOINT
    return path if path.is_file() else None


def fit_with_resume(
    trainer: L.Trainer, module: L.LightningModule, *, run_dir: Path, train_loader, valid_loader
) -> None:
    """`trainer.fit`, continuing from run_dir/checkpoints/last.ckpt when a previous attempt left one.

    A fresh run starts in a folder it claimed alone (see transferkit.run_folder.RunFolder), and RunIdentity
    refuses a checkpoint stamped with another run's id. It is loaded with ``weights_only=True``: tensors and
    plain containers only, nothing is unpickled.
    """
    checkpoint = last_checkpoint(run_dir) if trainer.checkpoint_callback is not None else None
    trainer.fit(
        module,
        train_dataloaders=train_loader,
        val_dataloaders=valid_loader,
        ckpt_path=str(checkpoint) if checkpoint else None,
        weights_only=True if checkpoint else None,
    )
    os.environ.pop(RUN_NAME_ENV, None)  # the launched processes have it; a later run in this process must not
    close_process_group()  # Lightning leaves the gloo / nccl group open
