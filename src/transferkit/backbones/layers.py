"""Layer groups from input to output: a CNN's children (long Sequentials block by block), or a transformer stack's
embeddings, each block, then what follows."""

from __future__ import annotations

from torch import nn


def _block_list(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The repeated blocks: the ModuleList holding the most parameters (encoder.layer, h, layers, ...)."""
    best: tuple[int, str, nn.ModuleList] | None = None
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) >= 1:  # a 1-layer model is still a stack
            size = sum(p.numel() for p in module.parameters())
            if best is None or size > best[0]:
                best = (size, name, module)
    if best is None:
        raise ValueError(f"{type(model).__name__} has no stack of blocks to group.")
    return best[1], best[2]


def transformer_layer_groups(model: nn.Module, *, exclude: tuple[str, ...] = ()) -> list[nn.Module]:
    """[everything before the blocks, block 1, ..., block N, everything after], each parameter exactly once.

    Modules named in `exclude` (e.g. a tied LM head) are left out. Works for BERT, DistilBERT, RoBERTa,
    GPT-2, Llama, wav2vec2, HuBERT and Whisper encoders.
    """
    blocks_name, blocks = _block_list(model)
    order = {id(p): i for i, p in enumerate(model.parameters())}
    first_block = min(order[id(p)] for p in blocks.parameters())
    before: list[nn.Module] = []
    after: list[nn.Module] = []
    path = blocks_name.split(".") if blocks_name else []
    parent: nn.Module = model
    prefix = ""
    for part in path:  # walk down to the block list; siblings on the way go before or after it
        own = {name: p for name, p in parent.named_parameters(recurse=False) if id(p) in order}
        if own:  # parameters held directly by an ancestor (e.g. wav2vec2's mask embedding)
            holder = nn.Module()
            for name, parameter in own.items():
                holder.register_parameter(name, parameter)
            (before if min(order[id(p)] for p in own.values()) < first_block else after).append(holder)
        for child_name, child in parent.named_children():
            full = f"{prefix}{child_name}"
            if child_name == part or full in exclude:
                continue
            params = [order[id(p)] for p in child.parameters() if id(p) in order]
            if params:
                (before if min(params) < first_block else after).append(child)
        parent = getattr(parent, part)
        prefix = f"{prefix}{part}."
    groups: list[nn.Module] = []
    if before:
        groups.append(nn.ModuleList(before))
    groups.extend(blocks)
    if after:
        groups.append(nn.ModuleList(after))
    return groups


def child_groups(model: nn.Module) -> list[nn.Module]:
    """`model`'s children that hold parameters, in order; a long Sequential (MobileNet / EfficientNet `features`)
    counts block by block."""
    groups: list[nn.Module] = []
    for child in model.children():
        if not any(True for _ in child.parameters()):
            continue
        if isinstance(child, nn.Sequential) and len(child) > 3:
            groups.extend(block for block in child if any(True for _ in block.parameters()))
        else:
            groups.append(child)
    return groups
