"""Text augmentation: EDA (Wei & Zou, 2019), contextual substitution with a masked LM, and paraphrases.

EDA's four operations work on whitespace-separated words; each augmented copy applies one of them,
chosen at random, to n = max(1, alpha * words) words (alpha 0.1 for ``light``, 0.2 for ``strong``).

Synonym sources (both offline):
- ``embedding`` (default): nearest neighbours of a word in the bundled MiniLM's input-embedding matrix
  (cosine similarity >= 0.45, whole-word tokens of 3+ letters). Real and offline, but neighbours are
  words used in similar contexts, so an antonym can come back ("good" -> "bad"): for sentiment labels,
  prefer random swap / deletion (``--augment-text eda-nosyn``) or WordNet.
- ``wordnet``: WordNet synonyms through NLTK (``pip install 'transferkit[augment]'``); its corpus must be
  installed once with ``python -m nltk.downloader wordnet`` on a machine with network access.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from transferkit.errors import ConfigError, require

TEXT_METHODS = ("eda", "eda-nosyn", "contextual", "paraphrase")
SYNONYM_SOURCES = ("embedding", "wordnet")
ALPHA = {"light": 0.1, "strong": 0.2}
_CORE = re.compile(r"^(\W*)([A-Za-z][A-Za-z'-]*[A-Za-z]|[A-Za-z])(\W*)$")

Synonyms = Callable[[str], list[str]]


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return ENGLISH_STOP_WORDS


def _split_core(token: str) -> tuple[str, str, str] | None:
    """(leading punctuation, word, trailing punctuation) of a token, or None when it holds no plain word."""
    match = _CORE.match(token)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def _replaceable(words: list[str], synonyms: Synonyms) -> list[int]:
    stop = _stop_words()
    positions = []
    for position, token in enumerate(words):
        parts = _split_core(token)
        if parts and parts[1].lower() not in stop and synonyms(parts[1].lower()):
            positions.append(position)
    return positions


def synonym_replacement(words: list[str], n: int, *, rng: np.random.Generator, synonyms: Synonyms) -> list[str]:
    """Replace up to `n` distinct non-stop words with a random synonym, keeping their punctuation.

    Example:
        >>> synonym_replacement(["tasty", "soup"], 1, rng=np.random.default_rng(0), synonyms={"soup": ["broth"]}.get)
        ['tasty', 'broth']
    """
    out = list(words)
    positions = _replaceable(words, lambda word: synonyms(word) or [])
    for position in rng.permutation(positions)[:n] if positions else []:
        before, word, after = _split_core(out[position])
        choices = synonyms(word.lower())
        out[position] = before + choices[int(rng.integers(len(choices)))] + after
    return out


def random_insertion(words: list[str], n: int, *, rng: np.random.Generator, synonyms: Synonyms) -> list[str]:
    """Insert, `n` times, a synonym of a random non-stop word at a random position."""
    out = list(words)
    positions = _replaceable(words, lambda word: synonyms(word) or [])
    if not positions:
        return out
    for _ in range(n):
        word = _split_core(words[int(rng.choice(positions))])[1].lower()
        choices = synonyms(word)
        out.insert(int(rng.integers(len(out) + 1)), choices[int(rng.integers(len(choices)))])
    return out


def random_swap(words: list[str], n: int, *, rng: np.random.Generator) -> list[str]:
    """Swap two random positions, `n` times (the multiset of words never changes)."""
    out = list(words)
    if len(out) < 2:
        return out
    for _ in range(n):
        first, second = rng.choice(len(out), size=2, replace=False)
        out[first], out[second] = out[second], out[first]
    return out


def random_deletion(words: list[str], p: float, *, rng: np.random.Generator) -> list[str]:
    """Delete each word with probability `p`; at least one word always stays."""
    if len(words) <= 1:
        return list(words)
    keep = rng.random(len(words)) >= p
    if not keep.any():
        keep[int(rng.integers(len(words)))] = True
    return [word for word, kept in zip(words, keep, strict=True) if kept]


def eda(text: str, *, alpha: float, rng: np.random.Generator, synonyms: Synonyms | None) -> str:
    """One EDA copy of `text`: one operation (synonym replacement, insertion, swap or deletion) at strength alpha.

    Without `synonyms` only swap and deletion are drawn.

    Example:
        >>> eda("the soup was cold and bland", alpha=0.2, rng=np.random.default_rng(1), synonyms=None)
        'the soup and cold was bland'
    """
    words = text.split()
    if not words:
        return text
    n = max(1, int(alpha * len(words)))
    operations = ["swap", "delete"] + (["replace", "insert"] if synonyms is not None else [])
    operation = operations[int(rng.integers(len(operations)))]
    if operation == "replace":
        words = synonym_replacement(words, n, rng=rng, synonyms=synonyms)
    elif operation == "insert":
        words = random_insertion(words, n, rng=rng, synonyms=synonyms)
    elif operation == "swap":
        words = random_swap(words, n, rng=rng)
    else:
        words = random_deletion(words, alpha, rng=rng)
    return " ".join(words)


class EmbeddingSynonyms:
    """Nearest neighbours (cosine) of a word among whole-word tokens of a text encoder's input embeddings.

    Example::

        synonyms = EmbeddingSynonyms.bundled_minilm()
        synonyms("bought")[:2]  # ['purchased', 'buy']
    """

    def __init__(self, tokenizer, embeddings: torch.Tensor, *, k: int = 8, min_similarity: float = 0.45) -> None:
        vocab = tokenizer.get_vocab()
        self.words = [""] * len(vocab)
        for token, index in vocab.items():
            if index < len(self.words):
                self.words[index] = token
        self.index = {word: position for position, word in enumerate(self.words)}
        self.usable = torch.tensor([len(w) >= 3 and w.isascii() and w.isalpha() for w in self.words])
        self.unit = torch.nn.functional.normalize(embeddings.detach().float()[: len(self.words)], dim=1)
        self.k = k
        self.min_similarity = min_similarity
        self._lookup = lru_cache(maxsize=20_000)(self._neighbours)

    @classmethod
    def bundled_minilm(cls) -> EmbeddingSynonyms:
        """The source built from the bundled all-MiniLM-L6-v2 (tokenizer vocabulary + word-embedding matrix)."""
        return _minilm_synonyms()

    def __call__(self, word: str) -> list[str]:
        return self._lookup(word.lower())

    def _neighbours(self, word: str) -> list[str]:
        position = self.index.get(word)
        if position is None or not self.usable[position]:
            return []
        similarity = self.unit @ self.unit[position]
        similarity[~self.usable] = -2.0
        similarity[position] = -2.0
        values, indices = similarity.topk(self.k)
        return [
            self.words[i] for v, i in zip(values.tolist(), indices.tolist(), strict=True) if v >= self.min_similarity
        ]


@lru_cache(maxsize=1)
def _minilm_synonyms() -> EmbeddingSynonyms:
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    from transferkit.backbones.bundled import minilm_dir

    folder = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    state = load_file(str(folder / "model.safetensors"))
    name = next(key for key in state if key.endswith("word_embeddings.weight"))
    return EmbeddingSynonyms(tokenizer, state[name])


class WordNetSynonyms:
    """WordNet lemmas of every synset of a word (NLTK's reader; its corpus must already be installed)."""

    def __init__(self) -> None:
        nltk = require("nltk", extra="augment", purpose="WordNet synonyms")
        try:
            nltk.corpus.wordnet.ensure_loaded()
        except LookupError:
            raise ConfigError(
                "The 'augment.synonyms' option wordnet needs NLTK's WordNet corpus: run "
                "`python -m nltk.downloader wordnet` on a machine with network access, or use --augment-synonyms "
                "embedding (offline, bundled MiniLM)."
            ) from None
        self.wordnet = nltk.corpus.wordnet

    @lru_cache(maxsize=20_000)  # noqa: B019  (one instance per run)
    def __call__(self, word: str) -> list[str]:
        lemmas = {lemma.name().replace("_", " ") for synset in self.wordnet.synsets(word) for lemma in synset.lemmas()}
        return sorted(lemma for lemma in lemmas if lemma.lower() != word.lower())


def synonym_source(name: str) -> Synonyms:
    if name == "embedding":
        return EmbeddingSynonyms.bundled_minilm()
    if name == "wordnet":
        return WordNetSynonyms()
    raise ConfigError(f"The 'augment.synonyms' option must be one of {', '.join(SYNONYM_SOURCES)}. Got {name!r}.")


class ContextualSubstitution:
    """Replace words with a masked LM's predictions in context (Kobayashi, 2018), through transformers' fill-mask.

    `mlm` is ``hf:PATH`` or PATH: a local folder holding a *ForMaskedLM model with its tokenizer.
    """

    def __init__(self, mlm: str | None, *, top_k: int = 5) -> None:
        if not mlm:
            raise ConfigError(
                "--augment-text contextual needs a masked language model: pass --mlm hf:PATH (a local folder "
                "with a *ForMaskedLM model such as bert-base-uncased); the bundled models have no MLM head."
            )
        from transformers import AutoModelForMaskedLM, AutoTokenizer, pipeline

        folder = Path(mlm.removeprefix("hf:"))
        if not folder.is_dir():
            raise ConfigError(f"The 'augment.mlm' option {mlm!r} is not a folder; pass --mlm hf:PATH to a local model.")
        model, info = AutoModelForMaskedLM.from_pretrained(folder, output_loading_info=True)
        if any("predictions" in key or "lm_head" in key for key in info["missing_keys"]):
            raise ConfigError(
                f"The 'augment.mlm' model at {folder} has no trained masked-LM head (its weights are missing); "
                "pass a checkpoint saved from a *ForMaskedLM model."
            )
        tokenizer = AutoTokenizer.from_pretrained(folder)
        # Ask for more than top_k: special tokens, sub-words and the original word are dropped below.
        wanted = min(3 * top_k, len(tokenizer))
        self.fill = pipeline("fill-mask", model=model.eval(), tokenizer=tokenizer, top_k=wanted, device="cpu")
        self.top_k = top_k
        self.mask = tokenizer.mask_token
        self.tokens = tokenizer.convert_ids_to_tokens  # vocabulary entries: sub-words keep their "##" and are dropped

    def __call__(self, text: str, *, alpha: float, rng: np.random.Generator) -> str:
        words = text.split()
        stop = _stop_words()
        positions = [i for i, w in enumerate(words) if (p := _split_core(w)) and p[1].lower() not in stop]
        n = max(1, int(alpha * len(words)))
        for position in rng.permutation(positions)[:n] if positions else []:
            before, word, after = _split_core(words[position])
            masked = " ".join([*words[:position], before + self.mask + after, *words[position + 1 :]])
            candidates = self.tokens([c["token"] for c in self.fill(masked)])
            candidates = [c for c in candidates if c and c.isalpha() and c.lower() != word.lower()][: self.top_k]
            if candidates:
                words[position] = before + candidates[int(rng.integers(len(candidates)))] + after
        return " ".join(words)


class Paraphraser:
    """Paraphrases sampled from an instruct causal LM (default: the bundled SmolLM2-135M-Instruct).

    Heavy: every copy is generated token by token. A model this small sometimes comments on the text
    instead of rewriting it, or drifts in meaning; a reply far longer or shorter than the text is drawn
    again (up to `attempts` times) and otherwise the original text is kept. Check a few copies before
    relying on them.
    """

    PROMPT = "Rewrite this text in other words, keeping its meaning and tone. Reply with the rewrite only.\n\n{text}"

    def __init__(self, spec: str = "bundled:smollm2-135m", *, attempts: int = 3) -> None:
        from transferkit.backbones import create_backbone

        backbone = create_backbone(spec)
        if not hasattr(backbone.model, "generate"):
            raise ConfigError(f"The paraphrase model {spec!r} cannot generate text; use an instruct causal LM.")
        self.model = backbone.model.eval()
        self.tokenizer = backbone.tokenizer
        self.attempts = attempts

    def _generate(self, ids: torch.Tensor, *, seed: int, max_new_tokens: int) -> str:
        with torch.random.fork_rng(devices=[]), torch.inference_mode():
            torch.manual_seed(seed)
            output = self.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                temperature=0.7,
                top_p=0.9,
                max_new_tokens=max_new_tokens,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        return self.tokenizer.decode(output[0, ids.shape[1] :], skip_special_tokens=True).strip()

    def __call__(self, text: str, *, seed: int) -> str:
        messages = [{"role": "user", "content": self.PROMPT.format(text=text)}]
        prompt = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        ids = prompt["input_ids"] if hasattr(prompt, "keys") else prompt
        words = len(text.split())
        budget = 2 * len(self.tokenizer(text)["input_ids"]) + 16  # a rewrite is about as long as the text
        for attempt in range(self.attempts):
            rewrite = self._generate(ids, seed=seed + attempt * 7919, max_new_tokens=budget)
            if rewrite and words / 2 <= len(rewrite.split()) <= 1.5 * words + 4 and rewrite != text:
                return rewrite
        return text


class TextAugmenter:
    """One augmented copy of a text per (text, seed), by `method` at the strength of `policy`."""

    def __init__(
        self, *, policy: str, method: str = "eda", synonyms: str = "embedding", mlm: str | None = None
    ) -> None:
        if method not in TEXT_METHODS:
            raise ConfigError(f"The 'augment.text' option must be one of {', '.join(TEXT_METHODS)}. Got {method!r}.")
        self.alpha = ALPHA[policy]
        self.method = method
        self.synonyms = synonym_source(synonyms) if method == "eda" else None
        self.contextual = ContextualSubstitution(mlm) if method == "contextual" else None
        self.paraphraser = Paraphraser() if method == "paraphrase" else None

    def __call__(self, text: str, *, seed: int) -> str:
        rng = np.random.default_rng(seed)
        if self.contextual is not None:
            return self.contextual(text, alpha=self.alpha, rng=rng)
        if self.paraphraser is not None:
            return self.paraphraser(text, seed=seed)
        return eda(text, alpha=self.alpha, rng=rng, synonyms=self.synonyms)
