"""The building blocks of feature-alignment methods: gradient reversal, CORAL and multi-kernel MMD.

Example:
    >>> import torch
    >>> layer = GradientReversal(weight=0.5)
    >>> x = torch.ones(3, requires_grad=True)
    >>> layer(x).sum().backward()
    >>> x.grad.tolist()
    [-0.5, -0.5, -0.5]
"""

from __future__ import annotations

import torch
from torch import nn


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weight: float) -> torch.Tensor:
        ctx.weight = weight
        return inputs.view_as(inputs)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.weight * grad_output, None


class GradientReversal(nn.Module):
    """Identity on the forward pass; multiplies the gradient by ``-weight`` on the way back (Ganin & Lempitsky).

    `weight` can be changed during training (DANN ramps it from 0 to its final value).
    """

    def __init__(self, *, weight: float = 1.0) -> None:
        super().__init__()
        self.weight = float(weight)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return _ReverseGrad.apply(inputs, self.weight)


def coral_loss(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Deep CORAL (Sun & Saenko 2016): squared Frobenius distance of the feature covariances over 4 d^2."""
    dim = source.shape[1]

    def covariance(features: torch.Tensor) -> torch.Tensor:
        centred = features - features.mean(dim=0, keepdim=True)
        return centred.T @ centred / max(1, features.shape[0] - 1)

    return (covariance(source) - covariance(target)).pow(2).sum() / (4 * dim * dim)


def multi_kernel_mmd(
    source: torch.Tensor, target: torch.Tensor, *, scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
) -> torch.Tensor:
    """Squared MMD with a sum of Gaussian kernels (Long et al. 2015, DAN), biased batch estimate.

    Bandwidths are `scales` times the mean pairwise squared distance of the batch (detached), so the
    loss is scale-free.
    """
    joint = torch.cat([source, target])
    distances = torch.cdist(joint, joint).pow(2)
    base = distances.detach().sum() / max(1, joint.shape[0] ** 2 - joint.shape[0])
    kernel = sum(torch.exp(-distances / (base * scale + 1e-12)) for scale in scales)
    n = source.shape[0]
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


def entropy(probabilities: torch.Tensor) -> torch.Tensor:
    """Mean Shannon entropy (nats) of rows of class probabilities."""
    return -(probabilities * probabilities.clamp_min(1e-12).log()).sum(dim=1).mean()
