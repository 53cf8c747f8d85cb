"""ClassifierModule trains exactly the groups it claims, epoch by epoch, and its checkpoints resume that state."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from transferkit.engine import (
    ClassifierModule,
    HistoryCallback,
    LayerGroup,
    TrainerOptions,
    TrainOptions,
    build_trainer,
    fit_with_resume,
    last_checkpoint,
)


def _data(n: int = 32) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 6, generator=generator)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=8)


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.Linear(6, 6), nn.Linear(6, 2))


class Snapshots(Callback):
    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.states = [self._copy()]

    def _copy(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def on_train_epoch_end(self, trainer, module) -> None:
        self.states.append(self._copy())


def _changed(before: dict, after: dict, prefix: str) -> bool:
    return any(not torch.equal(before[k], after[k]) for k in before if k.startswith(prefix))


def test_gradual_groups_stay_bitwise_frozen_until_their_epoch(tmp_path):
    model = _model()
    groups = [
        LayerGroup("never", model[0], unfreeze_epoch=None),
        LayerGroup("late", model[2], unfreeze_epoch=1),
        LayerGroup("head", model[3]),
    ]
    options = TrainOptions(optimizer="sgd", lr=0.1, weight_decay=0.01)
    module = ClassifierModule(model, groups=groups, options=options, frozen_root=model)
    assert not any(p.requires_grad for p in model[0].parameters())
    snaps = Snapshots(model)
    trainer = build_trainer(run_dir=tmp_path, options=TrainerOptions(max_epochs=2), callbacks=[snaps])
    fit_with_resume(trainer, module, run_dir=tmp_path, train_loader=_data(), valid_loader=None)
    start, after0, after1 = snaps.states
    assert not _changed(start, after1, "0.")  # frozen for the whole run
    assert not _changed(start, after0, "2.") and _changed(after0, after1, "2.")  # unfreezes at epoch 1
    assert _changed(start, after0, "3.")
    # BatchNorm outside every group runs in eval mode: its running statistics never move
    assert torch.equal(start["1.running_mean"], after1["1.running_mean"])
    saved = torch.load(last_checkpoint(tmp_path), weights_only=True)
    assert saved["transferkit"]["trainable_groups"] == ["late", "head"]


def test_train_bn_lets_frozen_batchnorm_update_its_statistics(tmp_path):
    model = _model()
    groups = [LayerGroup("frozen", model[:2], unfreeze_epoch=None), LayerGroup("head", model[2:])]
    module = ClassifierModule(model, groups=groups, options=TrainOptions(lr=0.01), train_bn=True)
    before = model[1].running_mean.clone()
    trainer = build_trainer(run_dir=tmp_path, options=TrainerOptions(max_epochs=1, checkpoint=False))
    trainer.fit(module, train_dataloaders=_data())
    assert not torch.equal(before, model[1].running_mean)
    assert not any(p.requires_grad for p in model[0].parameters())


def test_resume_restores_history_and_continues_to_the_same_weights(tmp_path):
    class CrashAfter(Callback):
        def __init__(self, epochs: int) -> None:
            self.epochs = epochs

        def on_train_epoch_end(self, trainer, module) -> None:
            trainer.should_stop = trainer.current_epoch + 1 >= self.epochs

    def run(folder, crash_after: int = 99):
        model = _model()
        groups = [LayerGroup("late", model[:3], unfreeze_epoch=1), LayerGroup("head", model[3])]
        options = TrainOptions(optimizer="adamw", lr=0.05, schedule="cosine", warmup_epochs=1)
        module = ClassifierModule(model, groups=groups, options=options)
        history = HistoryCallback()
        callbacks = [history, CrashAfter(crash_after)]
        trainer = build_trainer(run_dir=folder, options=TrainerOptions(max_epochs=3), callbacks=callbacks)
        fit_with_resume(trainer, module, run_dir=folder, train_loader=_data(), valid_loader=_data(16))
        return model, history.epochs

    straight, straight_history = run(tmp_path / "a")
    run(tmp_path / "b", crash_after=2)  # stops after 2 of 3 epochs, leaving last.ckpt
    resumed, resumed_history = run(tmp_path / "b")
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    assert [row["epoch"] for row in resumed_history] == [0, 1, 2]
    for a, b in zip(straight_history, resumed_history, strict=True):
        assert b == pytest.approx(a)


def test_label_smoothing_and_mixup_change_the_loss():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 2))
    images = torch.rand(8, 3, 4, 4)
    targets = torch.tensor([0, 1] * 4)
    group = [LayerGroup("all", model)]
    plain = ClassifierModule(model, groups=group, options=TrainOptions())
    smooth = ClassifierModule(model, groups=group, options=TrainOptions(label_smoothing=0.2))
    mixed = ClassifierModule(model, groups=group, options=TrainOptions(mixup=1.0, cutmix=1.0), num_classes=2)
    for module in (plain, smooth, mixed):
        module.log = lambda *args, **kwargs: None
    torch.manual_seed(0)
    losses = [float(m.training_step((images, targets), 0)) for m in (plain, smooth, mixed)]
    assert losses[0] != pytest.approx(losses[1]) and losses[0] != pytest.approx(losses[2])
    mixup_only = ClassifierModule(model, groups=group, options=TrainOptions(mixup=1.0), num_classes=2)
    mixed_inputs, soft = mixup_only.mixer(images, targets)
    assert soft.shape == (8, 2) and torch.all((soft > 0) & (soft <= 1) | (soft == 0))
    assert not torch.equal(mixed_inputs, images)


def test_early_stopping_and_grad_clip_reach_the_trainer(tmp_path):
    options = TrainerOptions(max_epochs=50, early_stopping=1, monitor="val_loss", grad_clip=0.5, checkpoint=False)
    trainer = build_trainer(run_dir=tmp_path, options=options)
    assert trainer.gradient_clip_val == 0.5 and trainer.early_stopping_callback.patience == 1
    model = _model()
    module = ClassifierModule(model, groups=[LayerGroup("all", model)], options=TrainOptions(lr=1.0))
    trainer.fit(module, train_dataloaders=_data(), val_dataloaders=_data(16))
    assert trainer.current_epoch < 50


def test_batchnorm_keeps_pretrained_statistics_in_trainable_groups_unless_train_bn(tmp_path):
    for train_bn in (False, True):
        model = _model()
        groups = [LayerGroup("body", model[:2]), LayerGroup("head", model[2:])]
        module = ClassifierModule(model, groups=groups, options=TrainOptions(lr=0.01), train_bn=train_bn)
        before = {k: v.clone() for k, v in model[1].state_dict().items()}
        trainer = build_trainer(
            run_dir=tmp_path / str(train_bn), options=TrainerOptions(max_epochs=1, checkpoint=False)
        )
        trainer.fit(module, train_dataloaders=_data())
        assert not torch.equal(before["weight"], model[1].weight)  # the scale still learns
        assert torch.equal(before["running_mean"], model[1].running_mean) is not train_bn
