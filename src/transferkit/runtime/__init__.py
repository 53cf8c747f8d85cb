"""Predicting from an exported bundle with onnxruntime, numpy, tokenizers and pillow only: no torch."""
