"""`transferkit distil runs/TEACHER --student SPEC DATA_UNLABELLED`: a smaller, faster model from a teacher's soft
labels on unlabelled data.

The teacher (any saved classification model) scores the unlabelled pool; the student is a probe on a smaller
backbone (e.g. bundled:mobilenet_v2 for an EfficientNet-Lite2 teacher) fitted to those probabilities by
soft-label cross-entropy: scikit-learn's logistic regression on every row repeated once per class, weighted by
the teacher's probability of that class (the same loss, in closed form for L-BFGS). Rows of --labelled-data join
with their true labels as certain targets. The run saves the student
as a model folder and reports its accuracy (on --test-data), its agreement with the teacher, its size and its
latency, timed beside the teacher's on the same inputs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from transferkit.artifacts import load_model, read_manifest, save_model
from transferkit.errors import ConfigError
from transferkit.labelling.distil_finetune import finetune_student
from transferkit.labelling.pool import Pool, embed, pool_backbone, read_pool
from transferkit.labelling.report import labelling_run, summary_table, write_page
from transferkit.labelling.suggest_run import model_folder, model_outputs
from transferkit.models.heads import ClassifierHead
from transferkit.models.transfer_model import TransferModel
from transferkit.run_folder import write_json

logger = logging.getLogger("transferkit")
LATENCY_ROWS = 64  # inputs timed per model (the same ones for teacher and student)
LATENCY_REPEATS = 3  # alternating teacher / student passes; the median of each is kept


@dataclass(frozen=True)
class DistilRun:
    run_dir: Path
    metrics: dict[str, Any]
    model_dir: Path


def soft_label_head(features: np.ndarray, soft: np.ndarray, *, C: float = 1.0, seed: int = 0) -> ClassifierHead:
    """A linear head whose softmax fits `soft` (rows of class probabilities) by weighted logistic regression."""
    rows, classes = soft.shape
    head = ClassifierHead(in_features=features.shape[1], num_classes=classes)
    head.fit_scaling(torch.as_tensor(features))
    with torch.no_grad():
        scaled = head.scaled(torch.as_tensor(features)).numpy()
    repeated = np.repeat(scaled, classes, axis=0)
    targets = np.tile(np.arange(classes), rows)
    weights = soft.reshape(-1)
    keep = weights > 1e-4  # a class the teacher rules out adds nothing to the loss
    model = LogisticRegression(C=C, max_iter=3000, random_state=seed)
    model.fit(repeated[keep], targets[keep], sample_weight=weights[keep])
    coef, intercept = np.zeros((classes, features.shape[1])), np.zeros(classes)
    if len(model.classes_) == 2 and model.coef_.shape[0] == 1:  # binary: score s -> logits (0, s)
        coef[model.classes_[1]], intercept[model.classes_[1]] = model.coef_[0], model.intercept_[0]
    else:
        coef[model.classes_], intercept[model.classes_] = model.coef_, model.intercept_
    linear = head.layers[-1]
    with torch.no_grad():
        linear.weight.copy_(torch.as_tensor(coef, dtype=torch.float32))
        linear.bias.copy_(torch.as_tensor(intercept, dtype=torch.float32))
    return head


def latency(models: dict[str, Any], inputs: list[str], *, batch_size: int = 32) -> dict[str, float]:
    """Milliseconds per input of each model on the same inputs, in alternating passes (median of the repeats), so
    a busy machine slows both alike; the first pass of each warms it up and is not counted."""
    timings: dict[str, list[float]] = {name: [] for name in models}
    for repeat in range(LATENCY_REPEATS + 1):
        for name, model in models.items():
            started = time.perf_counter()
            model.predict_proba(inputs, batch_size=batch_size)
            if repeat:
                timings[name].append((time.perf_counter() - started) * 1000.0 / len(inputs))
    return {name: round(float(np.median(values)), 3) for name, values in timings.items()}


def parameters(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters())) if hasattr(model, "parameters") else 0


# Long: the public call carries every option of the command (teacher, student, data, run folder).
def distil(
    teacher: str | Path,
    data: str | Path,
    *,
    student: str,
    test_data: str | Path | None = None,
    labelled_data: str | Path | None = None,
    text_column: str = "text",
    label_column: str = "label",
    C: float = 0.05,
    epochs: int = 0,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
    name: str | None = None,
    output_dir: str | Path = "runs",
    overwrite: bool = False,
) -> DistilRun:
    """Fit a probe on backbone `student` to the teacher's probabilities over `data` (with `epochs`, then fine-tune
    the whole student on them: distil_finetune.py); save and compare it.

    Example::

        run = distil("runs/lite2-teacher", "unlabelled/", student="bundled:mobilenet_v2", test_data="test/")
        run.metrics["student"]["accuracy"], run.metrics["speedup"]
    """
    folder = model_folder(teacher)
    teacher_model = load_model(folder)
    trained = bool((read_manifest(folder).get("backbone") or {}).get("trained"))
    pool = read_pool(data, text_column=text_column, label_column=None)
    test = None if test_data is None else read_pool(test_data, text_column=text_column, label_column=label_column)
    labelled = None
    if labelled_data is not None:
        labelled = read_pool(labelled_data, text_column=text_column, label_column=label_column)
        unknown = sorted({label for label in labelled.labels if label is not None} - set(teacher_model.class_names))
        if unknown or not len(labelled.labelled):
            raise ConfigError(
                f"--labelled-data {labelled_data} needs labels in '{label_column}' among the teacher's classes; "
                f"found {', '.join(unknown) or 'none'}."
            )
    if test is not None and not len(test.labelled):
        raise ConfigError(f"--test-data {test_data} has no labels in '{label_column}'; it scores the models.")
    if teacher_model.modality != pool.modality:
        raise ConfigError(f"The teacher reads {teacher_model.modality}; {pool.source} holds {pool.modality}.")
    student_backbone = pool_backbone(student, pool.modality)
    settings = {"teacher": str(folder), "data": str(data), "student": student, "C": C, "epochs": epochs}
    settings["test_data"] = None if test_data is None else str(test_data)
    settings["labelled_data"] = None if labelled_data is None else str(labelled_data)
    with labelling_run("distil", name=name, output_dir=output_dir, overwrite=overwrite, options=settings) as run_dir:
        started = time.perf_counter()
        _features, soft = model_outputs(
            teacher_model, pool, trained=trained, cache_dir=cache_dir, batch_size=batch_size
        )
        student_features = embed(student_backbone, pool.inputs, cache_dir=cache_dir, batch_size=batch_size)
        if labelled is not None:  # the labels we have join the teacher's soft ones as certain rows
            rows = labelled.labelled
            known = [labelled.inputs[int(index)] for index in rows]
            extra = embed(student_backbone, known, cache_dir=cache_dir, batch_size=batch_size)
            names = list(teacher_model.class_names)
            onehot = np.eye(len(names))[[names.index(labelled.labels[int(index)]) for index in rows]]
            student_features, soft = np.concatenate([student_features, extra]), np.concatenate([soft, onehot])
        head = soft_label_head(student_features, soft, C=C, seed=seed)
        student_model = TransferModel(student_backbone, head, list(teacher_model.class_names)).eval()
        if epochs:  # the whole student trains on the soft labels, from the probe head (distil_finetune.py)
            inputs = pool.inputs + ([] if labelled is None else known)
            student_model = finetune_student(
                student_backbone,
                head,
                inputs,
                soft,
                class_names=list(teacher_model.class_names),
                epochs=epochs,
                run_dir=run_dir,
                seed=seed,
            )
        model_dir = save_model(
            student_model, run_dir / "model", backbone_trained=bool(epochs), metadata={"distilled_from": str(folder)}
        )
        metrics = compare(teacher_model, student_model, pool=pool, test=test, batch_size=batch_size)
        metrics |= {
            "task": "distil",
            "teacher_model": str(folder),
            "student_backbone": student,
            "student_epochs": epochs,
            "pool_rows": len(pool.inputs),
        }
        metrics["seconds"] = round(time.perf_counter() - started, 2)
        write_json(run_dir / "metrics.json", metrics)
        write_page(run_dir, title="Distillation", parts=report_parts(metrics))
        logger.info("distil: student %s, speed-up %.2fx", metrics["student"], metrics["speedup"])
    return DistilRun(run_dir=run_dir, metrics=metrics, model_dir=model_dir)


def compare(teacher: Any, student: Any, *, pool: Pool, test: Pool | None, batch_size: int) -> dict[str, Any]:
    """Accuracy on the test rows (and the student's agreement with the teacher there), size and latency."""
    shown = (test or pool).inputs[:LATENCY_ROWS]
    timings = latency({"teacher": teacher, "student": student}, shown, batch_size=batch_size)
    record: dict[str, Any] = {}
    for name, model in (("teacher", teacher), ("student", student)):
        record[name] = {"parameters": parameters(model), "ms_per_input": timings[name]}
    if test is not None:
        rows = test.labelled
        truth = np.array([teacher.class_names.index(label) for label in np.array(test.labels, dtype=object)[rows]])
        inputs = [test.inputs[int(index)] for index in rows]
        predicted = {
            name: model.predict_proba(inputs, batch_size=batch_size).argmax(axis=1)
            for name, model in (("teacher", teacher), ("student", student))
        }
        for name, guesses in predicted.items():
            record[name]["accuracy"] = round(float((guesses == truth).mean()), 4)
        record["agreement"] = round(float((predicted["teacher"] == predicted["student"]).mean()), 4)
        record["test_rows"] = len(rows)
    record["speedup"] = round(timings["teacher"] / max(timings["student"], 1e-9), 3)
    return record


def _tuned(epochs: int | None) -> str:
    return f", then fine-tuned on the soft labels for {epochs} epoch(s)" if epochs else ""


def report_parts(metrics: dict[str, Any]) -> list[str]:
    rows = {}
    for name in ("teacher", "student"):
        part = metrics[name]
        rows[f"{name}: accuracy"] = part.get("accuracy")
        rows[f"{name}: parameters"] = f"{part['parameters']:,}"
        rows[f"{name}: ms per input"] = part["ms_per_input"]
    rows |= {"agreement on the test rows": metrics.get("agreement"), "speed-up": metrics["speedup"]}
    note = (
        f"<p class='note'>Teacher {metrics['teacher_model']}; student {metrics['student_backbone']} "
        f"+ soft-label probe{_tuned(metrics.get('student_epochs'))}.</p>"
    )
    return [note, summary_table(rows)]
