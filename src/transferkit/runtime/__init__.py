"""Predicting from an exported bundle with onnxruntime, numpy, tokenizers and pillow only: no torch.

Example::

    from transferkit.runtime import load_bundle

    bundle = load_bundle("bundles/reviews")
    bundle.predict(["Stale and overpriced."])
"""

from transferkit.runtime.bundle import Bundle, load_bundle
from transferkit.runtime.decide import decisions
from transferkit.runtime.manifest import BUNDLE_FORMAT, BUNDLE_MANIFEST, file_sha256, read_bundle_manifest

__all__ = [
    "BUNDLE_FORMAT",
    "BUNDLE_MANIFEST",
    "Bundle",
    "decisions",
    "file_sha256",
    "load_bundle",
    "read_bundle_manifest",
]
