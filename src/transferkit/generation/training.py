"""Adapting the model: LoRA adapters (peft) or full fine-tuning, trained on the Lightning engine with a held-out
validation loss, early stopping, a time limit and resume from the run folder's last checkpoint."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Timer
from torch.utils.data import DataLoader

from transferkit.config import RunSpec
from transferkit.engine import HistoryCallback, TrainerOptions, build_trainer, fit_with_resume
from transferkit.errors import ConfigError, require
from transferkit.generation.lm import LanguageModel
from transferkit.generation.module import CausalLMModule
from transferkit.generation.tokens import collate
from transferkit.strategies.lora import default_lora_targets

logger = logging.getLogger("transferkit")
LM_STRATEGIES = ("lora", "finetune")
# Every projection of a Llama / Mistral / Qwen block: domain adaptation needs the MLPs too, not only attention.
LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
DEFAULT_LR = {"lora": 1e-3, "finetune": 5e-5}


def lm_strategy(spec: RunSpec) -> str:
    """lora (auto's choice: a few MB to save, the base untouched) or finetune (every weight)."""
    name = "lora" if spec.strategy.name == "auto" else spec.strategy.name
    if name not in LM_STRATEGIES:
        raise ConfigError(
            f"The 'strategy' option {name} does not train a language model; use lora (default) or finetune."
        )
    return name


def lora_targets(model: Any, spec: RunSpec) -> list[str]:
    if spec.strategy.lora_targets:
        return list(spec.strategy.lora_targets)
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules() if name}
    return list(LLAMA_TARGETS) if set(LLAMA_TARGETS) <= names else default_lora_targets(model)


def add_adapters(lm: LanguageModel, spec: RunSpec) -> None:
    """Wrap the model in rank-`lora_rank` LoRA adapters; only they train."""
    peft = require("peft", extra="lora", purpose="The lora strategy")
    targets = lora_targets(lm.model, spec)
    config = peft.LoraConfig(
        r=spec.strategy.lora_rank,
        lora_alpha=spec.strategy.lora_alpha,
        lora_dropout=spec.strategy.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    try:
        lm.model = peft.get_peft_model(lm.model, config)
    except ValueError as exc:
        raise ConfigError(f"The 'lora_targets' option {targets} does not fit {lm.spec}: {exc}") from None


def checkpointing(lm: LanguageModel, *, on: bool) -> None:
    """Gradient checkpointing (transformers'): each layer's activations are recomputed in the backward pass
    instead of kept, trading time for memory; the non-reentrant form needs no input gradients under LoRA."""
    model = lm.model.get_base_model() if hasattr(lm.model, "get_base_model") else lm.model
    renamed = hasattr(model, "activation_checkpointing_enable")  # transformers 5 names; 4.x has only gradient_*
    if on:
        kwargs = {"use_reentrant": False}
        if renamed:
            model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        model.config.use_cache = False  # a cache is useless while training, and conflicts with recomputation
    elif any(getattr(module, "gradient_checkpointing", False) for module in model.modules()):
        model.activation_checkpointing_disable() if renamed else model.gradient_checkpointing_disable()
        model.config.use_cache = True


@dataclass
class Training:
    """What the engine did: epochs, steps, whether the time limit or early stopping ended it, the history."""

    epochs: int
    steps: int
    stopped_by: str
    history: list[dict[str, float]]
    trainable_parameters: int
    processes: int = 1  # DDP: the world size (each process trained on its shard of every epoch)
    gradient_checkpointing: bool = False

    def record(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "steps": self.steps,
            "stopped_by": self.stopped_by,
            "trainable_parameters": self.trainable_parameters,
            "processes": self.processes,
            "gradient_checkpointing": self.gradient_checkpointing,
        }


# Long: one place turns the options into loaders, the module and the trainer, then fits.
def train(
    lm: LanguageModel, *, train_rows: list[dict], valid_rows: list[dict], spec: RunSpec, run_dir: Path, strategy: str
) -> Training:
    """Train `lm.model` in place on `train_rows`, validating on `valid_rows` (may be empty) every epoch."""
    pad_id = lm.tokenizer.pad_token_id
    processes = spec.run.devices * spec.run.num_nodes
    # The batch is global: under DDP each process takes its share (Lightning gives each a DistributedSampler shard).
    batch_size = max(1, (spec.optim.batch_size or 8) // processes)
    epochs = spec.optim.epochs or 3
    loader_options = {"batch_size": batch_size, "collate_fn": lambda rows: collate(rows, pad_id=pad_id)}
    train_loader = DataLoader(train_rows, shuffle=True, **loader_options)
    valid_loader = DataLoader(valid_rows, shuffle=False, **loader_options) if valid_rows else None
    steps = len(train_loader) * epochs
    weight_decay = spec.optim.weight_decay if isinstance(spec.optim.weight_decay, float) else 0.0
    module = CausalLMModule(
        lm.model,
        lr=spec.optim.lr or DEFAULT_LR[strategy],
        weight_decay=weight_decay,
        total_steps=steps,
        warmup_steps=max(1, steps // 20),
    )
    checkpointing(lm, on=spec.optim.gradient_checkpointing)
    lm.model.train()
    history = HistoryCallback()
    callbacks: list[Any] = [history]
    if spec.run.max_minutes is not None:
        callbacks.append(Timer(duration=datetime.timedelta(minutes=spec.run.max_minutes), interval="step"))
    patience = spec.optim.early_stopping or (1 if valid_rows else None)
    options = TrainerOptions(
        max_epochs=epochs,
        seed=spec.run.seed,
        accelerator=spec.run.accelerator,
        devices=spec.run.devices,
        distributed=spec.run.distributed if processes == 1 or spec.run.distributed != "auto" else "ddp",
        precision=spec.optim.precision,
        grad_clip=spec.optim.grad_clip or 1.0,
        early_stopping=patience if valid_rows else None,
        monitor="val_loss",
        logger=spec.run.logger,
    )
    trainer = build_trainer(run_dir=run_dir, options=options, callbacks=callbacks)
    fit_with_resume(trainer, module, run_dir=run_dir, train_loader=train_loader, valid_loader=valid_loader)
    logger.info(
        "process %d of %d trained on %d batches (%d token blocks or pairs)",
        trainer.global_rank,
        trainer.world_size,
        module.batches_seen,
        module.rows_seen,
    )
    lm.model.eval()
    checkpointing(lm, on=False)  # generation and scoring keep their cache
    timer = next((c for c in callbacks if isinstance(c, Timer)), None)
    if timer is not None and timer.time_remaining() <= 0:
        stopped = "time limit"
    else:
        stopped = "early stopping" if trainer.current_epoch < epochs else "epochs"
    trainable = sum(p.numel() for p in lm.model.parameters() if p.requires_grad)
    return Training(
        trainer.current_epoch,
        trainer.global_step,
        stopped,
        history.epochs,
        trainable,
        trainer.world_size,
        spec.optim.gradient_checkpointing,
    )
