"""A tiny random BERT text classifier saved as a self-contained model folder (weights included), for the batch
prediction tests: it loads and predicts in well under a second, so the tests measure the plumbing."""

from __future__ import annotations

from pathlib import Path

import torch

TEXTS = [("good food " * (i % 7 + 1)) if i % 3 else f"bad {'abc' * (i % 5 + 1)} food" for i in range(70)]


def tiny_text_model(root: Path, *, regression: bool = False) -> Path:
    """The classifier of "bad" / "good", or with `regression` a one-output model of a number (RegressionTask)."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from transferkit.artifacts import save_model
    from transferkit.backbones import create_backbone
    from transferkit.models.heads import ClassifierHead
    from transferkit.models.transfer_model import TransferModel

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz", "good", "bad", "food"]
    (root / "bert").mkdir(parents=True)
    (root / "bert" / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(root / "bert" / "vocab.txt")).save_pretrained(root / "bert")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,  # real reviews truncate at the default 128 tokens
    )
    BertModel(config).save_pretrained(root / "bert")
    backbone = create_backbone(f"path:{root / 'bert'}")
    if regression:
        from transferkit.tasks.regression import RegressionTask

        model = TransferModel(backbone, ClassifierHead(in_features=32, num_classes=1), ["value"]).eval()
        task = RegressionTask(mean=3.0, scale=2.0)
        return save_model(model, root / "model", backbone_trained=True, task=task)
    model = TransferModel(backbone, ClassifierHead(in_features=32, num_classes=2), ["bad", "good"]).eval()
    return save_model(model, root / "model", backbone_trained=True)
