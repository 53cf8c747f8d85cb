"""`transferkit fit`'s options are generated from RunSpec: one flag per config key, each setting its key."""

from types import SimpleNamespace
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from transferkit import api
from transferkit.cli import app, run
from transferkit.config import RUN_OPTIONS, RunOption, RunSpec, register_task_name

# --task has one built-in value; a second name the schema accepts (fit is captured here, never run).
register_task_name("cli-test-task")

# Values whose text is not just the value written out, or that the schema checks against a list.
SPECIAL = {
    "strategy": ("probe", "probe"),
    "task": ("cli-test-task", "cli-test-task"),
    "class_weight": ("balanced", "balanced"),
    "weight_decay": ("0.5", 0.5),
    "feature_columns": ("age, income", ["age", "income"]),
    "label_columns": ("drama,comedy", ["drama", "comedy"]),
    "label_separator": (";", ";"),
    "lora_targets": ("query,value", ["query", "value"]),
    "column_map": ("Income=annual_inc", {"Income": "annual_inc"}),
    "mlm": ("hf:/models/mlm", "hf:/models/mlm"),
}
# Options that need another one to be valid (the schema refuses mlm without contextual augmentation).
COMPANIONS = {"mlm": ["--augment-text", "contextual"]}


def _fit_command():
    return typer.main.get_command(app).commands["fit"]


def _flag(option: RunOption) -> str:
    return "--" + option.flat.replace("_", "-")


def _non_default(option: RunOption) -> tuple[list[str], Any]:
    """Command-line words that set `option` to a value other than its default, and that value."""
    if option.flat in SPECIAL:
        text, value = SPECIAL[option.flat]
        return [_flag(option), text], value
    default = option.default
    if isinstance(default, bool):
        return [_flag(option) if not default else f"--no-{option.flat.replace('_', '-')}"], not default
    if option.choices:
        value = next(choice for choice in option.choices if choice != default)
        return [_flag(option), value], value
    if option.annotation in (int, int | None):
        value = 5 if default is None else default + 1
        return [_flag(option), str(value)], value
    if option.annotation in (float, float | None):
        value = 0.1 if not default else default / 2
        return [_flag(option), str(value)], value
    return [_flag(option), "some-value"], "some-value"


def _strategy_words(option: RunOption) -> list[str]:
    """`--strategy S` for a strategy-specific option, S one that uses it."""
    return ["--strategy", option.strategies[0]] if option.strategies and option.flat != "strategy" else []


@pytest.fixture
def resolved_specs(monkeypatch):
    """The specs `transferkit fit` resolves, captured instead of training."""
    specs: list[RunSpec] = []

    def capture(data, *, config=None, resume=None, **options):
        specs.append(api.resolve_spec(data, config, options))
        return SimpleNamespace(metrics={"global_rank": 1})  # the CLI prints nothing for an extra process

    monkeypatch.setattr(api, "fit", capture)
    return specs


def _value(spec: RunSpec, dotted: str) -> Any:
    section, key = dotted.split(".")
    return getattr(getattr(spec, section), key)


def test_every_config_key_has_a_flag():
    params = {param.name: param for param in _fit_command().params}
    flat_by_key = {option.dotted: option.flat for option in RUN_OPTIONS.values()}
    for section, section_field in RunSpec.model_fields.items():
        for key in section_field.annotation.model_fields:
            assert f"{section}.{key}" in flat_by_key, f"{section}.{key} has no flat name"
            name = flat_by_key[f"{section}.{key}"]
            assert name in params, f"{section}.{key} has no `transferkit fit` option"
            if name != "data":  # data.path is the DATA argument
                assert f"--{name.replace('_', '-')}" in params[name].opts


def test_help_lists_every_flag_with_its_help_text():
    result = CliRunner().invoke(app, ["fit", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for option in RUN_OPTIONS.values():
        if option.flat != "data":
            assert _flag(option) in result.output
    assert "LoRA rank r. Strategy lora only. [8]" in result.output
    assert "--config" in result.output and "--resume" in result.output and "Example:" in result.output


@pytest.mark.parametrize("option", [o for o in RUN_OPTIONS.values() if o.flat != "data"], ids=lambda o: o.flat)
def test_each_flag_sets_its_config_key(option, resolved_specs):
    words, value = _non_default(option)
    args = ["fit", "data.csv", *words, *_strategy_words(option), *COMPANIONS.get(option.flat, [])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert value != option.default
    assert _value(resolved_specs[-1], option.dotted) == value


def test_data_argument_sets_the_data_path(resolved_specs):
    assert CliRunner().invoke(app, ["fit", "reviews.csv"]).exit_code == 0
    assert resolved_specs[-1].data.path == "reviews.csv"


def test_flags_missing_before_the_schema_made_them(resolved_specs):
    args = ["fit", "d.csv", "--dropout", "0.2", "--hidden-dim", "64", "--no-nesterov", "--test-limit", "10"]
    assert CliRunner().invoke(app, args).exit_code == 0
    spec = resolved_specs[-1]
    assert (spec.strategy.dropout, spec.strategy.hidden_dim, spec.optim.nesterov, spec.data.test_limit) == (
        0.2,
        64,
        False,
        10,
    )
    assert CliRunner().invoke(app, ["fit", "d.csv", "--nesterov"]).exit_code == 0
    assert resolved_specs[-1].optim.nesterov is True


def test_absent_flags_leave_the_config_file_alone(tmp_path, resolved_specs):
    config = tmp_path / "run.yaml"
    config.write_text("optim: {nesterov: false, epochs: 3}\nstrategy: {name: lora, lora_rank: 4}\n")
    assert CliRunner().invoke(app, ["fit", "d.csv", "--config", str(config), "--epochs", "5"]).exit_code == 0
    spec = resolved_specs[-1]
    assert (spec.optim.nesterov, spec.optim.epochs, spec.strategy.lora_rank) == (False, 5, 4)


def test_strategy_specific_option_with_another_strategy_is_a_one_line_user_error(capsys, resolved_specs):
    assert run(["fit", "d.csv", "--strategy", "probe", "--lora-rank", "4"]) == 2
    error = capsys.readouterr().err
    assert "'strategy.lora_rank'" in error and "--strategy lora" in error and "--lora-rank" in error


def test_bad_choice_is_a_usage_error(capsys):
    assert run(["fit", "d.csv", "--head", "deep"]) == 2
    assert "deep" in capsys.readouterr().err


def test_python_api_keywords_map_like_the_flags():
    spec = api.resolve_spec("d.csv", None, {"strategy": "lora", "lora_rank": 4, "train_batch_size": 8})
    assert (spec.strategy.name, spec.strategy.lora_rank, spec.optim.batch_size) == ("lora", 4, 8)


def test_weight_decay_takes_a_number_or_auto(capsys, resolved_specs):
    assert CliRunner().invoke(app, ["fit", "d.csv", "--weight-decay", "auto"]).exit_code == 0
    assert resolved_specs[-1].optim.weight_decay == "auto"
    assert run(["fit", "d.csv", "--weight-decay", "lots"]) == 2
    assert "'optim.weight_decay' option must be a number >= 0 or 'auto'. Got 'lots'" in capsys.readouterr().err
