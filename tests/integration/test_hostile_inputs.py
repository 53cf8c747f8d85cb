"""A corpus of hostile inputs, each a real command line through `transferkit.cli.run` in a fresh folder.

Every case must end the way the README promises: the documented exit code (2: the input or the options), exactly
one line on stderr, no traceback, a message naming the file or the option to fix, and nothing half-written (the
folder holds the same files afterwards: no run folder, no output file). None of these cases trains, so they are
the unit tier (the folder's rule makes tests/integration e2e; an explicit mark wins, see tests/conftest.py).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from transferkit.cli import run
from transferkit.errors import EXIT_USAGE

pytestmark = pytest.mark.unit  # nothing here trains: every case fails before training starts

GOOD_CSV = "text,label\n" + "".join(f"{word} {n},{'ab'[n % 2]}\n" for n in range(20) for word in ["tasty"])
TABLE_HEADER = "x,y,label\n"


def _table_rows(n: int = 20) -> str:
    return TABLE_HEADER + "".join(f"{i},{i * 2},{'ab'[i % 2]}\n" for i in range(n))


@dataclass(frozen=True)
class Case:
    """One hostile input: `make` writes what it needs into the folder and returns the command line."""

    id: str
    make: Callable[[Path], list[str]]
    names: str  # the file or option the one-line message must name
    code: int = EXIT_USAGE


def _write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _fit(name: str, content: str | bytes, *options: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        _write(folder, name, content)
        return ["fit", name, "--output-dir", "runs", *options]

    return make


def _config(content: str | bytes) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        _write(folder, "data.csv", GOOD_CSV)
        _write(folder, "run.yaml", content)
        return ["fit", "data.csv", "--config", "run.yaml", "--output-dir", "runs"]

    return make


def _options(*options: str) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        _write(folder, "data.csv", GOOD_CSV)
        return ["fit", "data.csv", "--output-dir", "runs", *options]

    return make


def _image_folder(folder: Path, *, corrupt: bool = False, classes: tuple[str, ...] = ("cat", "dog")) -> Path:
    from PIL import Image

    root = folder / "images"
    for label in classes:
        (root / label).mkdir(parents=True)
        for index in range(6):
            Image.new("RGB", (8, 8), (index * 40, 0, 0)).save(root / label / f"{index}.png")
    if corrupt:
        (root / classes[0] / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    return root


def _images(**kwargs) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        _image_folder(folder, **kwargs)
        return ["fit", "images", "--output-dir", "runs"]

    return make


def _empty_folder(folder: Path) -> list[str]:
    (folder / "empty").mkdir()
    return ["fit", "empty", "--output-dir", "runs"]


def _output_dir_is_a_file(folder: Path) -> list[str]:
    _write(folder, "data.csv", GOOD_CSV)
    _write(folder, "runs-file", "not a folder")
    return ["fit", "data.csv", "--output-dir", "runs-file/sub"]


DATA_CASES = [
    Case("missing-path", lambda folder: ["fit", "nowhere.csv", "--output-dir", "runs"], "nowhere.csv"),
    Case("empty-folder", _empty_folder, "empty"),
    Case("one-class-folder", _images(classes=("cat",)), "single class"),
    Case("corrupt-image", _images(corrupt=True), "broken.png"),
    Case("zero-byte-file", _fit("zero.csv", b""), "zero.csv"),
    Case("bom-only-csv", _fit("bom.csv", b"\xef\xbb\xbf"), "bom.csv"),
    Case("ragged-rows", _fit("ragged.csv", "text,label\na,b\nc,d,e,f\ng,h\n"), "ragged.csv"),
    Case("first-row-too-wide", _fit("wide.csv", "text,label\na,b,c\nd,e\n"), "wide.csv"),
    Case("non-utf8-csv-rows", _fit("latin.csv", GOOD_CSV.encode() + b"caf\xe9,a\n"), "latin.csv row 22"),
    Case("non-utf8-header", _fit("header.csv", b"t\xe9xt,label\na,b\n"), "header.csv"),
    Case(
        "non-utf8-jsonl",
        _fit("rows.jsonl", b'{"text": "a", "label": "x"}\n{"text": "caf\xe9", "label": "y"}\n'),
        "rows.jsonl line 2",
    ),
    Case("json-not-records", _fit("list.json", "[1, 2, 3]"), "list.json"),
    Case("json-scalar", _fit("scalar.json", "42"), "scalar.json"),
    Case("duplicate-columns", _fit("dup.csv", "text,label,label\na,b,c\n"), "'label'"),
    Case("label-column-missing", _fit("data.csv", GOOD_CSV, "--label-column", "rating"), "--label-column"),
    Case(
        "text-column-missing",
        _fit("data.csv", GOOD_CSV, "--text-column", "review", "--backbone", "bundled:minilm"),
        "--text-column",
    ),
    Case(
        "all-empty-feature-column",
        _fit("empty.csv", "x,label\n" + "".join(f",{'ab'[i % 2]}\n" for i in range(20)), "--feature-columns", "x"),
        "every feature column is empty",
    ),
    Case("inf-values", _fit("inf.csv", _table_rows() + "inf,1,a\n", "--feature-columns", "x,y"), "infinite value"),
    Case("two-row-table", _fit("two.csv", "text,label\ngood,a\nbad,b\n"), "class 'a'"),
    Case("unsupported-suffix", _fit("data.xlsx", b"PK\x03\x04"), "data.xlsx"),
]

CONFIG_CASES = [
    Case("config-missing", lambda folder: _options("--config", "gone.yaml")(folder), "gone.yaml"),
    Case("config-non-utf8", _config(b"optim:\n  epochs: 3 # \xff\xfe\n"), "run.yaml"),
    Case("config-not-a-mapping", _config("- epochs\n- 3\n"), "run.yaml"),
    Case("config-not-yaml", _config("optim: {epochs: [3\n"), "run.yaml"),
    Case("config-unknown-key", _config("optim: {epoch: 3}\n"), "optim.epoch"),
    Case("config-wrong-type", _config("optim: {epochs: many}\n"), "optim.epochs"),
    Case("config-negative-epochs", _config("optim: {epochs: -2}\n"), "optim.epochs"),
    Case(
        "config-yaml-bomb",
        _config(
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True))
            + "data: {feature_columns: *h}\n"
        ),
        "run.yaml",
    ),
    Case("config-alias-loop", _config("data:\n  feature_columns: &loop [*loop]\n"), "run.yaml"),
    Case("config-huge-number", _config("run: {seed: 123456789012345678901234567890}\n"), "run.seed"),
    Case("config-infinite-lr", _config("optim: {lr: .inf}\n"), "optim.lr"),
    Case("config-python-tag", _config("optim: !!python/object/apply:os.system ['echo owned']\n"), "run.yaml"),
]

OPTION_CASES = [
    Case("unknown-flag", _options("--learning-rate", "0.1"), "--learning-rate"),
    Case("bad-choice", _options("--augment", "medium"), "augment.policy"),
    Case("bad-choice-head", _options("--head", "deep"), "strategy.head"),
    Case("bad-weight-decay", _options("--weight-decay", "lots"), "optim.weight_decay"),
    Case("negative-weight-decay", _options("--weight-decay", "-1"), "optim.weight_decay"),
    Case("class-weight-garbage", _options("--class-weight", "{heavy"), "imbalance.class_weight"),
    Case("conflicting-strategy-options", _options("--strategy", "probe", "--lora-rank", "4"), "--lora-rank"),
    Case("limit-below-minimum", _options("--limit", "2"), "data.limit"),
    Case("epochs-not-a-number", _options("--epochs", "ten"), "--epochs"),
    Case("valid-fraction-too-big", _options("--valid-fraction", "0.9"), "data.valid_fraction"),
    Case("run-name-with-slash", _options("--name", "../escape"), "'name'"),
    Case("output-dir-is-a-file", _output_dir_is_a_file, "runs-file"),
    Case("unknown-task", _options("--task", "astrology"), "data.task"),
]


# ---- model folders -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> Path:
    """A real saved model folder (tabular:columns backbone and a linear head; nothing trains)."""
    from transferkit.artifacts import save_model
    from transferkit.backbones import create_backbone
    from transferkit.data.feature_tables import row_json
    from transferkit.models.heads import ClassifierHead
    from transferkit.models.transfer_model import TransferModel

    backbone = create_backbone("tabular:columns")
    backbone.fit_preprocessing([row_json({"x": str(i), "y": str(2 * i)}, ["x", "y"]) for i in range(10)])
    head = ClassifierHead(in_features=backbone.num_features, num_classes=2)
    model = TransferModel(backbone, head, ["a", "b"])
    return save_model(model, tmp_path_factory.mktemp("saved") / "model", backbone_trained=False)


@pytest.fixture(scope="module")
def text_model_folder(tmp_path_factory) -> Path:
    """A real saved text model folder: the classic TF-IDF + logistic regression model (no backbone, no training run)."""
    from transferkit.artifacts import save_model
    from transferkit.models.classic import ClassicBaseline
    from transferkit.models.feature_model import classic_model

    texts = ["good tea", "great tea", "lovely tea", "bad tea", "awful tea", "stale tea"]
    baseline = ClassicBaseline(modality="text").fit(texts, ["+", "+", "+", "-", "-", "-"])
    model = classic_model(baseline, class_names=["+", "-"])
    return save_model(model, tmp_path_factory.mktemp("saved-text") / "model", backbone_trained=False)


def _edit_manifest(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        path = folder / "model.json"
        manifest = json.loads(path.read_text(encoding="utf-8"))
        edit(manifest)
        path.write_text(json.dumps(manifest), encoding="utf-8")

    return tamper


def _flip_last_byte(folder: Path) -> None:
    weights = folder / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))


def _self_reference(folder: Path) -> None:
    _edit_manifest(lambda manifest: manifest["backbone"].update(spec=f"path:{folder.resolve()}"))(folder)


@dataclass(frozen=True)
class ModelCase:
    id: str
    tamper: Callable[[Path], object]
    names: str
    command: tuple[str, ...] = ("predict", "model", "rows.csv", "--output", "predictions.csv")
    rows: str | bytes = "x,y\n1,2\n3,4\n"
    text_model: bool = False


MODEL_CASES = [
    ModelCase("model-json-missing", lambda folder: (folder / "model.json").unlink(), "model.json"),
    ModelCase("model-json-not-json", lambda folder: (folder / "model.json").write_text("{not json"), "model.json"),
    ModelCase("model-json-not-utf8", lambda folder: (folder / "model.json").write_bytes(b"{\xff}"), "model.json"),
    ModelCase("model-json-missing-keys", _edit_manifest(lambda m: m.pop("class_names")), "class_names"),
    ModelCase("model-json-no-head", _edit_manifest(lambda m: m.pop("head")), "model.json"),
    ModelCase(
        "model-json-huge-head",
        _edit_manifest(lambda m: m["head"].update(in_features=10**12)),
        "do not match",
    ),
    ModelCase("tampered-weights", _flip_last_byte, "weights.safetensors"),
    ModelCase("dotdot-file-name", _edit_manifest(lambda m: m["files"].update({"../x": "0" * 64})), "'../x'"),
    ModelCase("absolute-file-name", _edit_manifest(lambda m: m["files"].update({"/etc/hostname": "0" * 64})), "plain"),
    ModelCase("self-referencing-path", _self_reference, "names itself"),
    ModelCase(
        "download-not-allowed",
        _edit_manifest(lambda m: m["backbone"].update(spec="hf:some-org/huge")),
        "--allow-download",
    ),
    ModelCase(
        "predict-txt-not-utf8",
        lambda folder: None,
        "rows.txt line 2",
        command=("predict", "model", "rows.txt", "--output", "predictions.csv"),
        rows=b"fine\ncaf\xe9\n",
        text_model=True,
    ),
    ModelCase(
        "predict-output-in-missing-folder",
        lambda folder: None,
        "missing/predictions.csv",
        command=("predict", "model", "rows.csv", "--output", "missing/predictions.csv"),
    ),
    ModelCase(
        "evaluate-output-in-missing-folder",
        lambda folder: None,
        "missing/metrics.json",
        command=("evaluate", "model", "rows.csv", "--output", "missing/metrics.json"),
    ),
    ModelCase("predict-inf-row", lambda folder: None, "infinite value", rows="x,y\n1,2\ninf,4\n"),
]


# ---- policy folders (rl) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def policy_folder(tmp_path_factory) -> Path:
    """A real policy folder: an untrained PPO policy for CartPole, saved as transferkit saves policies."""
    pytest.importorskip("stable_baselines3")
    from transferkit.rl.config import AlgoConfig, EnvSpec
    from transferkit.rl.envs import make_env
    from transferkit.rl.policy import build_model, save_policy

    env_spec = EnvSpec(id="CartPole-v1")
    algo = AlgoConfig(name="ppo", net_arch=[8], kwargs={"n_steps": 32, "batch_size": 16})
    model = build_model(algo, env=make_env(env_spec, monitor=False), seed=0)
    return save_policy(model, tmp_path_factory.mktemp("policies") / "policy", algo=algo, env=env_spec)


def _policy_info(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def tamper(folder: Path) -> None:
        path = folder / "policy.json"
        info = json.loads(path.read_text(encoding="utf-8"))
        edit(info)
        path.write_text(json.dumps(info), encoding="utf-8")

    return tamper


TRANSFER = ("rl", "transfer", "--from", "policy", "--env", "CartPole-v1", "--steps", "64", "--seeds", "0")
TRANSFER += ("--no-baseline", "--output-dir", "runs")

POLICY_CASES = [
    ModelCase("policy-json-missing", lambda folder: (folder / "policy.json").unlink(), "policy", command=TRANSFER),
    ModelCase(
        "policy-json-corrupt", lambda folder: (folder / "policy.json").write_text("{"), "policy.json", command=TRANSFER
    ),
    ModelCase(
        "policy-json-not-utf8",
        lambda folder: (folder / "policy.json").write_bytes(b"{\xff}"),
        "policy.json",
        command=TRANSFER,
    ),
    ModelCase(
        "policy-unknown-algo",
        _policy_info(lambda info: info["algo"].update(name="a2c")),
        "policy.json",
        command=TRANSFER,
    ),
    ModelCase(
        "policy-hostile-sb3-kwargs",
        _policy_info(lambda info: info["algo"]["kwargs"].update(tensorboard_log="/tmp/elsewhere")),
        "tensorboard_log",
        command=TRANSFER,
    ),
    ModelCase(
        "policy-hostile-policy-kwargs",
        _policy_info(lambda info: info["algo"]["kwargs"].update(policy_kwargs={"optimizer_class": "os.system"})),
        "optimizer_class",
        command=TRANSFER,
    ),
    ModelCase("policy-missing-spaces", _policy_info(lambda info: info.pop("spaces")), "spaces", command=TRANSFER),
    ModelCase("bad-algo-kwarg", lambda folder: None, "--algo-kwarg", command=(*TRANSFER, "--algo-kwarg", "gamma")),
    ModelCase("unknown-algo-kwarg", lambda folder: None, "rm_rf", command=(*TRANSFER, "--algo-kwarg", "rm_rf=1")),
]


# ---- the promise ---------------------------------------------------------------------------------


def _listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _assert_one_clean_line(code: int, expected_code: int, captured, names: str) -> None:
    assert code == expected_code, captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{captured.err}"
    assert "Traceback" not in captured.err and lines[0].startswith("Error: ")
    assert names in lines[0], lines[0]


@pytest.mark.parametrize("case", DATA_CASES + CONFIG_CASES + OPTION_CASES, ids=lambda case: case.id)
def test_hostile_data_configs_and_options(case, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = case.make(tmp_path)
    before = _listing(tmp_path)
    code = run(args)
    _assert_one_clean_line(code, case.code, capsys.readouterr(), case.names)
    assert _listing(tmp_path) == before  # no run folder, no output file


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda case: case.id)
def test_hostile_model_folders_and_prediction_inputs(case, request, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    saved = request.getfixturevalue("text_model_folder" if case.text_model else "model_folder")
    shutil.copytree(saved, tmp_path / "model")
    case.tamper(tmp_path / "model")
    rows = "rows.txt" if "rows.txt" in case.command else "rows.csv"
    _write(tmp_path, rows, case.rows)
    before = _listing(tmp_path)
    code = run(list(case.command))
    _assert_one_clean_line(code, EXIT_USAGE, capsys.readouterr(), case.names)
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("case", POLICY_CASES, ids=lambda case: case.id)
def test_hostile_policy_folders_and_rl_options(case, policy_folder, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(policy_folder, tmp_path / "policy")
    case.tamper(tmp_path / "policy")
    before = _listing(tmp_path)
    code = run(list(case.command))
    _assert_one_clean_line(code, EXIT_USAGE, capsys.readouterr(), case.names)
    assert _listing(tmp_path) == before


def test_the_corpus_is_at_least_forty_inputs():
    total = len(DATA_CASES) + len(CONFIG_CASES) + len(OPTION_CASES) + len(MODEL_CASES) + len(POLICY_CASES)
    assert total >= 40, total
