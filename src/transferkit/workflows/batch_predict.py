"""Batch prediction at any size: inputs streamed in chunks, output written per chunk, resumable, multi-process.

`predict_batch(model_dir, inputs, output=...)` reads the inputs lazily (`stream_inputs`), predicts one chunk at a
time and writes each chunk's rows to its own file in ``<output>.partial/`` (written beside and renamed, so a chunk
is there whole or not at all). ``<output>.partial/job.json`` records what the job is: the model folder's files,
the inputs' paths / sizes / modification times, and the options that change the output. Run the same command
again after an interruption and the chunks already written are skipped; a job that differs in any of these is
refused (never mixed into the old one's output) unless `restart` discards the old one. When every chunk is there,
they are joined into ``<output>`` (written beside it and renamed: the final file appears whole) and the partial
folder is removed. Memory holds one chunk, whatever the input size.

Several processes or devices (`devices`, `num_nodes`) run through Lightning Fabric, as `fit` runs DDP through
Lightning: chunk i goes to rank i mod world size, rank 0 joins the output after a barrier. One machine: the
processes are spawned (``ddp_spawn``); several machines: launch the same command on each with `torchrun` (or
SLURM), which Fabric detects, and every rank must see the same input files and output folder.

Example::

    result = predict_batch("runs/reviews/model", ["reviews.csv"], output="predictions.csv", chunk_size=1000)
    result.rows, result.resumed_chunks  # (100000, 0)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transferkit.artifacts import MANIFEST, load_model, read_manifest
from transferkit.embedding_cache import close_process_group, embed_runtime, embedder
from transferkit.errors import ConfigError, DataError
from transferkit.models.predictor import Predictor
from transferkit.models.transfer_model import TransferModel
from transferkit.progress import progress_bar
from transferkit.run_folder import atomic_output, check_output, write_json
from transferkit.tasks import Task, task_from_manifest
from transferkit.workflows.predict import model_columns
from transferkit.workflows.routes import route_for_model
from transferkit.workflows.stream_inputs import STREAMS, StreamOptions, chunks, count_items, fingerprint, iter_items

logger = logging.getLogger(__name__)
DEFAULT_CHUNK = 1024
JOB_FILE = "job.json"
PART = re.compile(r"chunk-(\d{8})\.(csv|jsonl)")
FORMATS = {".csv": "csv", ".jsonl": "jsonl"}


@dataclass(frozen=True)
class BatchJob:
    """Everything one prediction job needs; plain values, so spawned processes receive it whole."""

    model: str
    inputs: tuple[str, ...]
    output: str
    text_column: str | None = None
    chunk_size: int = DEFAULT_CHUNK
    batch_size: int = 32
    skip_bad_files: bool = False
    runtime: str = "torch"
    embed_runtime: str = "torch"
    onnx_path: str | None = None
    allow_download: bool = False

    @property
    def partial(self) -> Path:
        return Path(self.output).with_name(Path(self.output).name + ".partial")

    @property
    def format(self) -> str:
        return FORMATS.get(Path(self.output).suffix.lower(), "csv")


@dataclass
class BatchResult:
    """What a finished job wrote."""

    output: Path
    rows: int
    chunks: int
    resumed_chunks: int
    world_size: int = 1
    counts: dict[str, int] = field(default_factory=dict)  # predicted labels (classification), for a summary line
    skipped: int = 0  # unusable inputs left out (skip_bad_files)

    def summary(self) -> str:
        return ", ".join(f"{label}: {count}" for label, count in Counter(self.counts).most_common(10))


def streams(model: str | Path) -> bool:
    """Whether `predict` of `model` goes through the streamed path: a transferkit model folder of a core task
    (task families with their own predict route, and exported bundles, predict their own way)."""
    return isinstance(model, str | Path) and (Path(model) / MANIFEST).is_file() and route_for_model(model) is None


def predict_batch(
    model: str | Path,
    inputs: list[str | Path],
    *,
    output: str | Path,
    text_column: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    batch_size: int = 32,
    skip_bad_files: bool = False,
    runtime: str = "torch",
    embed_runtime_name: str | None = None,
    onnx_path: str | Path | None = None,
    restart: bool = False,
    devices: int = 1,
    num_nodes: int = 1,
    accelerator: str = "cpu",
    allow_download: bool = False,
) -> BatchResult:
    """Predict `inputs` (files / folders) with the model folder `model` into `output` (.csv or .jsonl), streamed.

    `chunk_size` rows are read, predicted and written at a time; an interrupted job resumes from its last whole
    chunk when run again with the same model, inputs and options (`restart` discards a different or unwanted
    partial job instead). `embed_runtime_name` runs the backbone on torch or onnx (ONNX Runtime, exported once to
    the cache); `runtime="onnx"` runs the whole exported graph (model.onnx). `devices` / `num_nodes`: processes
    through Lightning Fabric (see the module docstring).
    """
    if chunk_size < 1:
        raise ConfigError(f"The 'chunk_size' option must be a positive number of rows. Got {chunk_size}.")
    if runtime not in ("torch", "onnx"):
        raise ConfigError(f"The 'runtime' option must be one of torch, onnx. Got {runtime!r}.")
    if devices < 1 or num_nodes < 1:
        raise ConfigError("The 'devices' and 'num_nodes' options must be positive numbers.")
    check_output(output)
    job = BatchJob(
        model=str(model),
        inputs=tuple(str(path) for path in inputs),
        output=str(output),
        text_column=text_column,
        chunk_size=chunk_size,
        batch_size=batch_size,
        skip_bad_files=skip_bad_files,
        runtime=runtime,
        embed_runtime=embed_runtime(embed_runtime_name, default="torch"),  # exact: as in-memory predict and export
        onnx_path=str(onnx_path) if onnx_path is not None else None,
        allow_download=allow_download,
    )
    if devices * num_nodes == 1 and not launched_externally():
        return run_job(job, rank=0, world_size=1, restart=restart)
    return _launch(job, devices=devices, num_nodes=num_nodes, accelerator=accelerator, restart=restart)


def launched_externally() -> bool:
    """Whether torchrun or SLURM started this process as one rank of several (then Fabric joins them)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 or int(os.environ.get("SLURM_NTASKS", "1")) > 1


def _launch(job: BatchJob, *, devices: int, num_nodes: int, accelerator: str, restart: bool) -> BatchResult:
    from lightning.fabric import Fabric

    strategy = "ddp" if launched_externally() else "ddp_spawn"
    fabric = Fabric(accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy)
    return fabric.launch(_fabric_rank, asdict(job), restart)  # Lightning's launcher takes no frozen dataclass


def _fabric_rank(fabric: Any, fields: dict[str, Any], restart: bool) -> BatchResult | None:
    """One process's share: its chunks, then (rank 0, after all ranks are done) the join."""
    job = BatchJob(**fields)
    try:
        if fabric.global_rank == 0:
            prepare(job, restart=restart)  # the job file, before any rank writes a chunk
        fabric.barrier()
        result = run_job(job, rank=fabric.global_rank, world_size=fabric.world_size, join=False, device=fabric.device)
        fabric.barrier()
        return finish(job, result) if fabric.global_rank == 0 else None
    finally:
        close_process_group()


def run_job(
    job: BatchJob, *, rank: int, world_size: int, restart: bool = False, join: bool = True, device: Any = None
) -> BatchResult:
    """Predict this rank's chunks of `job` (chunk i when i mod world_size == rank) that are not written yet."""
    model, task, metadata = _load(job)
    options = StreamOptions(
        modality=model.modality,
        text_column=job.text_column or metadata.get("text_column", "text"),  # as `predict` reads it
        feature_columns=tuple(model_columns(model, metadata) or ()) or None,
        skip_bad_files=job.skip_bad_files,
    )
    paths = [Path(path) for path in job.inputs]
    stream = chunks(iter_items(paths, options), job.chunk_size)
    first = next(stream, None)  # read before anything is written: bad options fail with nothing on disk
    if first is None:
        raise DataError("No inputs to predict; pass files, a folder, or a CSV of texts.")
    if join:
        prepare(job, restart=restart)
    done = written_chunks(job.partial)
    total = count_items(paths, options)
    result = BatchResult(Path(job.output), 0, 0, 0, world_size)
    predictor = ChunkPredictor(model, task, job, device=device)
    try:
        _predict_chunks(job, predictor, _prepend(first, stream), done, result, total=total, rank=rank)
    except BaseException:
        if not written_chunks(job.partial) and world_size == 1:
            discard(job.partial)  # nothing was predicted: leave no trace of the attempt
        raise
    return finish(job, result) if join else result


def _predict_chunks(
    job: BatchJob, predictor: ChunkPredictor, stream: Any, done: set[int], result: BatchResult, *, total: int, rank: int
) -> None:
    world_size = result.world_size
    with progress_bar("Predicting", total=_share(total, job.chunk_size, rank, world_size), rate=True) as advance:
        for index, items in enumerate(stream):
            if index % world_size != rank:
                continue
            result.chunks += 1
            if index in done:
                result.resumed_chunks += 1
            else:
                frame, skipped = predictor(items)
                _write_chunk(job, index, frame)
                result.skipped += skipped
            advance(len(items))


def _share(total: int, chunk_size: int, rank: int, world_size: int) -> int:
    """Rows in the chunks of `rank` (for its progress bar)."""
    count = -(-total // chunk_size)
    return sum(min(chunk_size, total - i * chunk_size) for i in range(rank, count, world_size))


def _prepend(first: list[str], rest: Any) -> Any:
    yield first
    yield from rest


def _load(job: BatchJob) -> tuple[Predictor, Task, dict[str, Any]]:
    manifest = read_manifest(Path(job.model))
    model = load_model(job.model, allow_download=job.allow_download)
    return model, task_from_manifest(manifest), manifest.get("metadata") or {}


class ChunkPredictor:
    """Raw inputs of one chunk -> its output rows (``input`` and the task's columns)."""

    def __init__(self, model: Predictor, task: Task, job: BatchJob, *, device: Any = None) -> None:
        self.model, self.task, self.job = model, task, job
        self.device = device
        if job.embed_runtime not in ("auto", "torch") and not isinstance(model, TransferModel):
            raise ConfigError(
                f"--embed-runtime {job.embed_runtime} runs a backbone + head model; this is a {model.kind} model. "
                "Drop the option."
            )
        if device is not None and getattr(device, "type", "cpu") != "cpu" and isinstance(model, TransferModel):
            model.backbone.to(device)  # the head runs on the CPU, on the embeddings

    def __call__(self, items: list[str]) -> tuple[pd.DataFrame, int]:
        try:
            proba = self.proba(items)
            skipped = 0
        except (OSError, ValueError, RuntimeError) as exc:  # an unreadable file: find it, then skip it or say which
            good = self.usable(items, exc)
            skipped = len(items) - len(good)
            items = good
            proba = self.proba(items) if items else np.zeros((0, len(self.model.class_names)), np.float32)
        return pd.DataFrame({"input": items, **self.task.prediction_columns(np.asarray(proba))}), skipped

    def proba(self, items: list[str]) -> np.ndarray:
        if self.job.runtime == "onnx":
            from transferkit.export import onnx_predict_proba

            path = Path(self.job.onnx_path) if self.job.onnx_path else Path(self.job.model) / "model.onnx"
            return onnx_predict_proba(self.model, items, path=path, batch_size=self.job.batch_size)
        if isinstance(self.model, TransferModel):
            return self.model.predict_proba_features(self.embed(items))
        return np.asarray(self.model.predict_proba(items, batch_size=self.job.batch_size))

    def embed(self, items: list[str]) -> np.ndarray:
        """The backbone's embeddings of one chunk: longest inputs first (little padding), on torch or ONNX."""
        import torch

        backbone = self.model.backbone
        sizes = backbone.input_sizes(items)
        order = np.argsort(-np.asarray(sizes), kind="stable") if sizes is not None else np.arange(len(items))
        out = np.zeros((len(items), backbone.num_features), np.float32)
        on_device = self.device is not None and getattr(self.device, "type", "cpu") != "cpu"
        embed = embedder(backbone, self.job.embed_runtime) if not on_device else None
        backbone.eval()
        with torch.inference_mode():
            for start in range(0, len(items), self.job.batch_size):
                rows = order[start : start + self.job.batch_size]
                batch = backbone.load_batch([items[row] for row in rows])
                if embed is not None:
                    out[rows] = embed(batch)
                    continue
                batch = (
                    {k: v.to(self.device) for k, v in batch.items()}
                    if isinstance(batch, dict)
                    else batch.to(self.device)
                )
                out[rows] = backbone(batch).float().cpu().numpy()
        return out

    def usable(self, items: list[str], exc: BaseException) -> list[str]:
        """The items the modality's reader accepts; without skip_bad_files the first bad one is a DataError."""
        from transferkit.modalities.inputs import read_prediction_inputs

        if STREAMS.get(self.model.modality) != "files":  # rows of text: a bad row was named when it was read
            raise exc
        good = []
        for item in items:
            kept = read_prediction_inputs(self.model.modality, [item], skip_bad_files=self.job.skip_bad_files)
            good += kept
        if len(good) == len(items):  # every file reads: the failure was not the inputs'
            raise exc
        return good


# ---- the job folder: identity, chunks, join ------------------------------------------------------------


def job_identity(job: BatchJob) -> dict[str, Any]:
    """What must match for a partial job to be resumed: model files, inputs, and the options that shape output."""
    model_dir = Path(job.model)
    files = sorted(p for p in model_dir.rglob("*") if p.is_file()) if model_dir.is_dir() else []
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(model_dir)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    # skip_bad_files is left out: chunks written without it held no bad file, so they stand with it too (a job that
    # stopped at an unreadable file resumes with --skip-bad-files without redoing what it wrote)
    ignored = ("model", "inputs", "output", "batch_size", "allow_download", "skip_bad_files")
    options = {k: v for k, v in asdict(job).items() if k not in ignored}
    return {
        "version": 1,
        "model": {"folder": str(model_dir.resolve()), "files": digest.hexdigest()},
        "inputs": fingerprint([Path(path) for path in job.inputs]),
        "options": options,
    }


def prepare(job: BatchJob, *, restart: bool) -> None:
    """Create the partial folder with its job file, or check that the one there is this job's."""
    partial, identity = job.partial, job_identity(job)
    job_file = partial / JOB_FILE
    if partial.exists() and not partial.is_dir():
        raise ConfigError(f"{partial} exists and is not a partial prediction job; move it or choose another --output.")
    if job_file.is_file():
        try:
            saved = json.loads(job_file.read_text(encoding="utf-8"))
        except ValueError:
            saved = None
        if saved == identity:
            return
        if not restart:
            differs = [key for key in identity if not isinstance(saved, dict) or saved.get(key) != identity[key]]
            raise ConfigError(
                f"{partial} holds a partial prediction job with a different {', '.join(differs) or 'record'}; "
                "pass --restart to discard it, or choose another --output."
            )
        discard(partial)
    elif partial.is_dir() and any(partial.iterdir()):
        raise ConfigError(f"{partial} holds files that are not a prediction job; move them or choose another --output.")
    partial.mkdir(exist_ok=True)
    write_json(job_file, identity)


def written_chunks(partial: Path) -> set[int]:
    if not partial.is_dir():
        return set()
    return {int(match.group(1)) for path in partial.iterdir() if (match := PART.fullmatch(path.name))}


def _chunk_path(job: BatchJob, index: int) -> Path:
    return job.partial / f"chunk-{index:08d}.{job.format}"


def _write_chunk(job: BatchJob, index: int, frame: pd.DataFrame) -> None:
    with atomic_output(_chunk_path(job, index)) as temporary:
        if job.format == "jsonl":
            frame.to_json(temporary, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_csv(temporary, index=False)


def finish(job: BatchJob, result: BatchResult) -> BatchResult:
    """Join the chunks in order into the output (atomically), count rows and labels, remove the partial folder."""
    output = Path(job.output)
    if output.exists():
        logger.warning("Replacing the existing %s", output)
    indexes = sorted(written_chunks(job.partial))
    if indexes != list(range(len(indexes))):
        raise DataError(f"{job.partial} is missing chunks; run the same command again to finish the job.")
    rows, counts = 0, Counter()
    with atomic_output(output) as temporary, open(temporary, "wb") as joined:
        for index in indexes:
            with open(_chunk_path(job, index), "rb") as part:
                if job.format == "csv" and index > 0:
                    part.readline()  # each chunk has the header; the output keeps the first
                shutil.copyfileobj(part, joined)
        # counts read back chunk by chunk: bounded memory, and the same for every rank layout
    for index in indexes:
        frame = _read_part(_chunk_path(job, index), job.format)
        rows += len(frame)
        if "label" in frame:
            counts.update(frame["label"].astype(str).tolist())
    discard(job.partial)
    result.output, result.rows, result.chunks, result.counts = output, rows, len(indexes), dict(counts)
    return result


def _read_part(path: Path, format: str) -> pd.DataFrame:
    if format == "jsonl":
        return pd.read_json(path, lines=True, dtype=False) if path.stat().st_size else pd.DataFrame()
    # Every output has an input column; only classification has a label (a regression chunk read for its label
    # alone gave an empty frame, and the job reported 0 predictions).
    return pd.read_csv(path, usecols=lambda column: column in ("input", "label"), dtype=str, keep_default_na=False)


def discard(partial: Path) -> None:
    """Delete a partial job's own files (its job file, chunks and temporaries) and the folder if then empty."""
    if not partial.is_dir():
        return
    for path in partial.iterdir():
        if path.name == JOB_FILE or PART.fullmatch(path.name) or path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)
    if not any(partial.iterdir()):
        partial.rmdir()
