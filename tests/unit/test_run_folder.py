"""Run folders: atomic claims, overwrite only of runs and only after success, crash-safe writes and swaps."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

from transferkit.errors import ArtifactError, ConfigError
from transferkit.run_folder import (
    MARKER_FILE,
    RUN_NAME_ENV,
    RunFolder,
    default_run_name,
    load_yaml_mapping,
    open_run_folder,
    read_run_id,
    readable_folder,
    safe_name,
    swap_into_place,
    unique_run_name,
    write_atomic,
    write_output,
)


def _claim(output_dir: str, name: str, barrier, results) -> None:
    barrier.wait()  # both processes leave the barrier together, then race for the folder
    try:
        RunFolder.claim(output_dir, name, overwrite=False)
        results.put("won")
    except ConfigError as exc:
        results.put(f"refused: {exc}")


def test_two_processes_claiming_one_name_exactly_one_wins(tmp_path):
    context = multiprocessing.get_context("fork")  # the children only touch files
    for attempt in range(3):  # a few rounds: the race must hold whichever process is first
        barrier, results = context.Barrier(2), context.Queue()
        processes = [
            context.Process(target=_claim, args=(str(tmp_path), f"run{attempt}", barrier, results)) for _ in range(2)
        ]
        for process in processes:
            process.start()
        outcomes = sorted(results.get(timeout=60) for _ in processes)
        for process in processes:
            process.join(timeout=60)
        assert outcomes[1] == "won", outcomes
        assert outcomes[0].startswith("refused:") and "--name" in outcomes[0], outcomes


def test_a_taken_name_is_refused_naming_the_fix(tmp_path):
    RunFolder.claim(tmp_path, "run", overwrite=False)
    with pytest.raises(ConfigError, match=r"already exists.*--overwrite"):
        RunFolder.claim(tmp_path, "run", overwrite=False)


def test_default_names_started_together_differ_and_are_safe():
    names = {default_run_name("my data.csv", "bundled:minilm", "two-stage") for _ in range(50)}
    assert len(names) == 50
    assert all(name.startswith("my-data-minilm-two-stage-") for name in names)
    assert safe_name("ALE/Pong-v5") == "ALE-Pong-v5"
    assert unique_run_name("adapt", "my data", "to", "../x").startswith("adapt-my-data-to-x-")


def test_overwrite_refuses_a_folder_transferkit_did_not_create(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.yaml").write_text("mine: true\n")
    with pytest.raises(ConfigError, match="not a transferkit run folder"):
        RunFolder.claim(tmp_path, "project", overwrite=True)
    assert (project / "config.yaml").read_text() == "mine: true\n"


def test_overwrite_swaps_the_new_run_in_only_after_it_succeeds(tmp_path):
    old = RunFolder.claim(tmp_path, "run", overwrite=False)
    write_atomic(old.path / "metrics.json", "old")
    new = RunFolder.claim(tmp_path, "run", overwrite=True)
    assert new.path == old.path and not (new.path / "metrics.json").exists()
    with new.in_progress():
        write_atomic(new.path / "metrics.json", "new")
    assert (tmp_path / "run" / "metrics.json").read_text() == "new"
    assert read_run_id(tmp_path / "run") == new.run_id != old.run_id
    assert [path.name for path in tmp_path.iterdir()] == ["run"]  # the old run is gone


def test_an_old_run_survives_a_failed_new_one(tmp_path):
    old = RunFolder.claim(tmp_path, "run", overwrite=False)
    write_atomic(old.path / "metrics.json", "old")
    new = RunFolder.claim(tmp_path, "run", overwrite=True)
    with pytest.raises(RuntimeError, match="crash"), new.in_progress():
        write_atomic(new.path / "metrics.json", "half")
        raise RuntimeError("crash mid-train")
    assert (tmp_path / "run" / "metrics.json").read_text() == "old"
    assert read_run_id(tmp_path / "run") == old.run_id
    failed = [path for path in tmp_path.iterdir() if path.name.startswith("run.failed-")]
    assert len(failed) == 1 and (failed[0] / "metrics.json").read_text() == "half"  # kept for its log


def test_non_primary_processes_join_the_primary_folder(tmp_path):
    primary = RunFolder.claim(tmp_path, "ddp", overwrite=False)
    joined = RunFolder.join(tmp_path, "ddp")
    assert joined.path == primary.path and joined.run_id == primary.run_id


def test_one_opener_claims_joins_and_reopens(tmp_path, monkeypatch):
    """fit, detection and language models open their folders here: the primary claims it and writes config.yaml
    (and hands the name to Lightning's launched processes), a DDP worker joins it, --resume reopens it."""
    monkeypatch.delenv(RUN_NAME_ENV, raising=False)
    for variable in ("RANK", "LOCAL_RANK", "NODE_RANK"):
        monkeypatch.delenv(variable, raising=False)
    options = {"overwrite": False, "config_yaml": "seed: 1\n", "multi_process": True}
    primary = open_run_folder(tmp_path, "ddp", **options)
    assert (primary.path / "config.yaml").read_text() == "seed: 1\n" and os.environ[RUN_NAME_ENV] == "ddp"
    monkeypatch.setenv("LOCAL_RANK", "1")
    worker = open_run_folder(tmp_path, "ddp", **options | {"config_yaml": "seed: 2\n"})
    assert worker.path == primary.path and worker.run_id == primary.run_id
    assert (primary.path / "config.yaml").read_text() == "seed: 1\n"  # a worker writes nothing
    monkeypatch.delenv("LOCAL_RANK")
    resumed = open_run_folder(tmp_path, "ignored", **options | {"resume": primary.path})
    assert resumed.run_id == primary.run_id and not (tmp_path / "ignored").exists()
    with pytest.raises(ConfigError, match="already exists"):  # someone else's run is never taken over
        open_run_folder(tmp_path, "ddp", **options)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ConfigError, match="will not delete it"):
        open_run_folder(tmp_path, "mine", **options | {"overwrite": True})
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_yaml_loader_names_the_file_and_the_fix(tmp_path):
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml is not UTF-8"):
        load_yaml_mapping(latin1)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml must hold a mapping"):
        load_yaml_mapping(listing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml_mapping(broken)
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="YAML tag that is never loaded"):
        load_yaml_mapping(unsafe)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_yaml_mapping(empty) == {}


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_atomic(target, "old")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["metrics.json"]


def _folder_with(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "value.txt").write_text(text)
    return path


def test_a_folder_swap_that_fails_half_way_puts_the_old_folder_back(tmp_path, monkeypatch):
    target = _folder_with(tmp_path / "model", "old")
    staging = _folder_with(tmp_path / ".model.partial", "new")
    real_replace = os.replace

    def crash_on_second_rename(source, destination):
        if Path(source) == staging:
            raise OSError("killed")
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", crash_on_second_rename)
    with pytest.raises(OSError, match="killed"):
        swap_into_place(staging, target)
    monkeypatch.undo()
    assert (target / "value.txt").read_text() == "old"


def test_after_a_kill_between_the_two_renames_the_old_folder_is_still_found(tmp_path):
    target = _folder_with(tmp_path / "model", "old")
    os.replace(target, tmp_path / ".model.previous")  # what a kill after the first rename leaves on disk
    assert (readable_folder(target) / "value.txt").read_text() == "old"
    swap_into_place(_folder_with(tmp_path / ".model.partial", "new"), target)  # the next save recovers
    assert (target / "value.txt").read_text() == "new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_outputs_refuse_a_missing_folder_and_warn_before_replacing(tmp_path, caplog):
    with pytest.raises(ConfigError, match="does not exist"):
        write_output(tmp_path / "missing" / "predictions.csv", "a\n")
    target = tmp_path / "predictions.csv"
    write_output(target, "first\n")
    assert not caplog.records
    with caplog.at_level("WARNING", logger="transferkit"):
        write_output(target, "second\n")
    assert target.read_text() == "second\n"
    assert "Replacing the existing" in caplog.text and str(target) in caplog.text


def test_open_refuses_a_missing_folder(tmp_path):
    with pytest.raises(ArtifactError, match="--resume"):
        RunFolder.open(tmp_path / "nope")


def test_the_marker_records_the_run(tmp_path):
    folder = RunFolder.claim(tmp_path, "run", overwrite=False, kind="rl")
    marker = json.loads((folder.path / MARKER_FILE).read_text())
    assert marker["run_id"] == folder.run_id and marker["kind"] == "rl" and marker["name"] == "run"
