"""Zero-shot classification from label names or short descriptions, by embedding similarity.

`--labels "great: a review praising the product, other: a complaint or a mixed review"` names each class and
(optionally) says what it means. Each description is embedded with the text encoder and each input goes to the
class whose description is nearest in cosine similarity. Two variants are measured in
benchmarks/zero_shot.py: `centred` subtracts the pool's mean embedding from inputs and descriptions first
(a sentence encoder gives every text a shared direction that swamps the class signal), and `synthetic` is
SetFit's templated-example start without its contrastive fine-tuning: a logistic regression fitted on the
embeddings of template sentences built from each description.

Example::

    labels = parse_label_descriptions("great: praise for the product, other: a complaint")
    proba = zero_shot_proba(text_features, description_features, method="centred")
"""

from __future__ import annotations

import re

import numpy as np
from sklearn.linear_model import LogisticRegression

from transferkit.errors import ConfigError

METHODS = ("similarity", "centred", "synthetic")
TEMPERATURE = 0.05  # softmax over cosine similarities; only the probabilities' sharpness depends on it
# SetFit's default template is "This sentence is {}"; a few phrasings give the probe more than one point a class.
TEMPLATES = ("{}", "This text is {}.", "This is {}.", "In short: {}.", "Overall, {}.")
# A new entry starts at a comma or semicolon followed by "name:"; a comma inside a description stays in it.
_ENTRY = re.compile(r"[;,]\s*(?=[^,;:]+:)")


def parse_label_descriptions(text: str) -> dict[str, str]:
    """`"great: praise, other: complaint"` -> {"great": "praise", "other": "complaint"}; a bare name
    (`"great, other"`) is its own description.

    Example::

        >>> parse_label_descriptions("great: praise for it, other: a complaint, or a mixed review")
        {'great': 'praise for it', 'other': 'a complaint, or a mixed review'}
        >>> parse_label_descriptions("cat, dog")
        {'cat': 'cat', 'dog': 'dog'}
    """
    parts = _ENTRY.split(text) if ":" in text else re.split(r"[;,]", text)
    labels: dict[str, str] = {}
    for part in parts:
        name, _, description = part.partition(":")
        name, description = name.strip(), description.strip() or name.strip()
        if not name:
            continue
        if name in labels:
            raise ConfigError(f"--labels names '{name}' twice; give each class once.")
        labels[name] = description
    if len(labels) < 2:
        raise ConfigError(
            f'--labels needs at least two classes, e.g. "great: a review praising the product, other: a complaint"; '
            f"got {text!r}."
        )
    return labels


def synthetic_examples(descriptions: dict[str, str]) -> tuple[list[str], list[int]]:
    """Template sentences for each class (SetFit's `get_templated_dataset` idea) and their class indices."""
    texts, targets = [], []
    for index, (name, description) in enumerate(descriptions.items()):
        for template in TEMPLATES:
            for phrase in dict.fromkeys((description, name)):
                texts.append(template.format(phrase))
                targets.append(index)
    return texts, targets


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def zero_shot_proba(
    features: np.ndarray,
    class_features: np.ndarray,
    *,
    method: str = "similarity",
    synthetic_targets: list[int] | None = None,
) -> np.ndarray:
    """Class probabilities for each row of `features` (input embeddings).

    `class_features` is one description embedding per class for similarity / centred, or the embeddings of
    `synthetic_examples` (with `synthetic_targets`) for synthetic.
    """
    if method not in METHODS:
        raise ConfigError(f"Unknown zero-shot method '{method}'; choose one of {', '.join(METHODS)}.")
    centre = features.mean(axis=0, keepdims=True) if method != "similarity" and len(features) > 1 else 0.0
    inputs, classes = _unit(features - centre), _unit(class_features - centre)
    if method != "synthetic":
        return _softmax(inputs @ classes.T / TEMPERATURE)
    if synthetic_targets is None:
        raise ConfigError("The synthetic zero-shot method needs the template sentences' classes.")
    model = LogisticRegression(C=1.0, max_iter=2000).fit(classes, synthetic_targets)
    return model.predict_proba(inputs)
