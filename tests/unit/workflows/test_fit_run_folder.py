"""`fit` run folders: --overwrite keeps the old run until the new one succeeds, and refuses non-runs."""

from __future__ import annotations

import pytest

import transferkit
from transferkit.errors import ConfigError
from transferkit.workflows import fit as fit_workflow

OPTIONS = {
    "text_column": "review",
    "label_column": "score",
    "split_column": "split",
    "backbone": "bundled:minilm",
    "strategy": "probe",
    "limit": 40,
}


@pytest.mark.e2e
def test_an_old_run_survives_a_new_run_that_crashes_mid_train(reviews_csv, tmp_path, monkeypatch):
    old = transferkit.fit(reviews_csv, output_dir=str(tmp_path), name="reviews", **OPTIONS)
    metrics = (old.run_dir / "metrics.json").read_text()

    def crash(*args, **kwargs):
        raise RuntimeError("killed while saving the model")

    monkeypatch.setattr(fit_workflow, "save_model", crash)
    with pytest.raises(RuntimeError, match="killed"):
        transferkit.fit(reviews_csv, output_dir=str(tmp_path), name="reviews", overwrite=True, **OPTIONS)
    assert (old.run_dir / "metrics.json").read_text() == metrics
    assert transferkit.load_model(old.run_dir / "model").class_names == old.model.class_names


def test_overwrite_refuses_a_folder_that_is_not_a_run(reviews_csv, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.yaml").write_text("not: a run\n")
    with pytest.raises(ConfigError, match="not a transferkit run folder"):
        transferkit.fit(reviews_csv, output_dir=str(tmp_path), name="project", overwrite=True, **OPTIONS)
    assert (project / "config.yaml").read_text() == "not: a run\n"
