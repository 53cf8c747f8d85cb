"""Each fine-tuning strategy trains exactly what it claims, on bundled MiniLM and real fine-food reviews."""

from __future__ import annotations

import lightning as L
import pandas as pd
import pytest
import torch

from transferkit.backbones import create_backbone
from transferkit.config import RunSpec
from transferkit.data.dataset import LabeledData
from transferkit.errors import ConfigError
from transferkit.strategies import get_strategy

pytestmark = pytest.mark.real_backbone  # bundled MiniLM / EfficientNet, trained


@pytest.fixture(scope="module")
def reviews(reviews_csv) -> LabeledData:
    frame = pd.read_csv(reviews_csv)
    frame = frame[frame["split"] == "train"].groupby("score", group_keys=False).head(8)
    return LabeledData("text", frame["review"].tolist(), frame["score"].tolist(), source=str(reviews_csv))


def _spec(name: str, strategy: dict | None = None, **optim) -> RunSpec:
    values = {"strategy": {"name": name, **(strategy or {})}, "optim": {"batch_size": 16, **optim}}
    return RunSpec.from_dict({**values, "backbone": {"max_length": 32}})


def _one_step(strategy_name: str, reviews: LabeledData, tmp_path, **options):
    """Prepare the strategy on a fresh backbone, snapshot its weights, take one optimiser step."""
    backbone = create_backbone("bundled:minilm", max_length=32)
    strategy = get_strategy(strategy_name)
    spec = _spec(strategy_name, **options)
    prepared = strategy.prepare(backbone=backbone, train=reviews, valid=None, spec=spec, run_dir=tmp_path)
    before = {k: v.detach().clone() for k, v in prepared.model.named_parameters()}
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    trainer.fit(prepared.module, train_dataloaders=prepared.train_loader)
    changed = {k for k, v in prepared.model.named_parameters() if not torch.equal(before[k], v)}
    return prepared, strategy, changed, set(before)


def test_finetune_last_two_groups_changes_only_them_and_the_head(reviews, tmp_path):
    _, _, changed, names = _one_step("finetune", reviews, tmp_path, strategy={"unfreeze": 2})
    trainable = {
        n
        for n in names
        if n.startswith(("head.", "backbone.model.encoder.layer.4.", "backbone.model.encoder.layer.5."))
    }
    assert changed == trainable  # every unfrozen weight moved; frozen ones are bitwise unchanged


def test_bitfit_changes_only_biases_and_the_head(reviews, tmp_path):
    _, _, changed, names = _one_step("bitfit", reviews, tmp_path)
    assert changed == {n for n in names if n.startswith("head.") or n.endswith(".bias")}


def test_lora_changes_only_adapters_and_head_then_merges_into_plain_weights(reviews, tmp_path):
    prepared, strategy, changed, _ = _one_step("lora", reviews, tmp_path, strategy={"lora_rank": 4})
    assert changed  # something trained
    assert all(n.startswith("head.") or "lora_" in n for n in changed)  # lora_A moves by weight decay
    assert any("lora_B" in n for n in changed) and any(n.startswith("head.") for n in changed)
    plain_keys = set(create_backbone("bundled:minilm", max_length=32).state_dict())
    merged = strategy.finalize(prepared.model)
    assert set(merged.backbone.state_dict()) == plain_keys


def test_lr_decay_sets_each_group_rate_and_l2sp_starts_at_zero(reviews, tmp_path):
    backbone = create_backbone("bundled:minilm", max_length=32)
    spec = _spec("finetune", lr=1e-3, strategy={"lr_decay": 0.5, "l2sp": 0.1, "unfreeze": 3})
    prepared = get_strategy("finetune").prepare(
        backbone=backbone, train=reviews, valid=None, spec=spec, run_dir=tmp_path
    )
    optimizer = prepared.module.configure_optimizers()
    rates = {g["name"]: g["lr"] for g in optimizer.param_groups}
    assert rates["head"] == pytest.approx(1e-2)  # new head: 10x
    for depth, index in enumerate((6, 5, 4), start=1):  # 7 groups: embeddings + 6 layers
        assert rates[f"backbone.{index}"] == pytest.approx(1e-3 * 0.5**depth)
    assert not any(name.startswith(("backbone.3", "backbone.0")) for name in rates)
    assert all(g["weight_decay"] == 0.0 for g in optimizer.param_groups if g["name"].startswith("backbone"))
    (l2sp,) = prepared.module.regularizers
    assert float(l2sp().detach()) == 0.0
    with torch.no_grad():
        next(p for _, p in backbone.model.encoder.layer[5].named_parameters() if p.ndim > 1).add_(0.01)
    assert float(l2sp().detach()) > 0.0


def test_gradual_plans_one_more_group_per_epoch(reviews, tmp_path):
    backbone = create_backbone("bundled:minilm", max_length=32)
    strategy = get_strategy("gradual")
    groups = strategy.plan(backbone=backbone, head=torch.nn.Linear(384, 2), spec=_spec("gradual"))
    assert [g.unfreeze_epoch for g in groups] == [7, 6, 5, 4, 3, 2, 1, 0]


def test_strategy_defaults_and_user_errors(reviews, tmp_path):
    assert RunSpec.from_dict({}).strategy.name == "auto"  # cross-validated choice (strategies/auto.py)
    assert RunSpec.from_dict({"strategy": {"unfreeze": 2}}).strategy.name == "two-stage"
    assert RunSpec.from_dict({"strategy": {"lr_decay": 0.7}}).strategy.name == "two-stage"
    backbone = create_backbone("bundled:minilm", max_length=32)
    with pytest.raises(ConfigError, match="lbfgs is for the probe"):
        get_strategy("finetune").prepare(
            backbone=backbone, train=reviews, valid=None, spec=_spec("finetune", optimizer="lbfgs"), run_dir=tmp_path
        )
    with pytest.raises(ConfigError, match="mixup"):
        get_strategy("finetune").prepare(
            backbone=backbone, train=reviews, valid=None, spec=_spec("finetune", mixup=0.2), run_dir=tmp_path
        )


def test_two_stage_starts_from_a_probe_with_one_common_scale_and_a_gentler_image_rate(reviews, digits_folder, tmp_path):
    """Stage 1's head divides by one scale (per-dimension scales of few rows blow up once the backbone moves),
    and image backbones default to lr 1e-5 with their lowest groups frozen, while text keeps 1e-4, all groups."""
    from transferkit.data import load_labeled

    strategy = get_strategy("two-stage")
    text = strategy.prepare(
        backbone=create_backbone("bundled:minilm", max_length=32),
        train=reviews,
        valid=None,
        spec=_spec("two-stage"),
        run_dir=tmp_path / "text",
    )
    scale = text.model.head.standardize.scale
    assert torch.all(scale == scale[0]) and scale[0] > 0
    assert text.details["lr"] == pytest.approx(1e-4)
    digits = load_labeled(digits_folder)
    image = strategy.prepare(
        backbone=create_backbone("bundled:efficientnet_lite0"),
        train=digits,
        valid=None,
        spec=RunSpec.from_dict({"strategy": {"name": "two-stage"}}),
        run_dir=tmp_path / "image",
    )
    assert image.details["lr"] == pytest.approx(1e-5)
    explicit = RunSpec.from_dict({"strategy": {"name": "two-stage"}, "optim": {"lr": 3e-4}})
    again = strategy.prepare(
        backbone=create_backbone("bundled:efficientnet_lite0"),
        train=digits,
        valid=None,
        spec=explicit,
        run_dir=tmp_path,
    )
    assert again.details["lr"] == pytest.approx(3e-4)  # --lr always wins

    # Which groups train: every text group; on images all but the lowest three (stem, first stages), unless
    # --unfreeze says otherwise.
    def trainable(prepared) -> list[bool]:
        return [g["unfreeze_epoch"] is not None for g in prepared.details["groups"] if g["name"] != "head"]

    assert all(trainable(text))
    assert trainable(image) == [False, False, False] + [True] * (len(trainable(image)) - 3)
    # (the ImageNet classifier belongs to no group and never trains)
    frozen = {n for n, p in image.model.backbone.named_parameters() if not p.requires_grad and "classifier" not in n}
    assert frozen == {
        n
        for n, _ in image.model.backbone.named_parameters()
        if n.startswith(("model.conv_stem", "model.bn1", "model.blocks.0.", "model.blocks.1."))
    }
    everything = strategy.prepare(
        backbone=create_backbone("bundled:efficientnet_lite0"),
        train=digits,
        valid=None,
        spec=RunSpec.from_dict({"strategy": {"name": "two-stage", "unfreeze": 8}}),
        run_dir=tmp_path / "all",
    )
    assert all(trainable(everything))
