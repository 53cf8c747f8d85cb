"""Reading audio clips (WAV / FLAC / OGG) as mono float32 at a model's sampling rate."""

from __future__ import annotations


def masked_time_mean(features, lengths):
    """Mean over the first `lengths[i]` time steps of each row of a (batch, time, dim) tensor."""
    import torch

    steps = torch.arange(features.shape[1], device=features.device)
    mask = (steps[None, :] < lengths.clamp(min=1, max=features.shape[1])[:, None]).to(features.dtype).unsqueeze(-1)
    return (features * mask).sum(dim=1) / mask.sum(dim=1)
