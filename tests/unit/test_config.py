import ast
from pathlib import Path

import pytest

import transferkit.config
from transferkit.config import (
    BUILTIN_STRATEGIES,
    RUN_OPTIONS,
    RunSpec,
    flat_to_dotted,
    parse_class_weight,
    strategy_names,
)
from transferkit.errors import ConfigError
from transferkit.imbalance import weights


def test_unknown_key_names_the_key_and_closest_valid_one():
    with pytest.raises(ConfigError, match=r"Unknown key 'optim\.learning_rate'.*did you mean 'optim\.lr'"):
        RunSpec.from_dict({"optim": {"learning_rate": 0.1}})


def test_unknown_section_is_reported():
    with pytest.raises(ConfigError, match=r"Unknown key 'optimizer'.*did you mean 'optim'"):
        RunSpec.from_dict({"optimizer": {}})


def test_bad_strategy_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"'strategy\.name'.*must be one of .*probe.*Got 'tow-stage'"):
        RunSpec.from_dict({"strategy": {"name": "tow-stage"}})


def test_out_of_range_value_names_the_option():
    with pytest.raises(ConfigError, match=r"'optim\.epochs'"):
        RunSpec.from_dict({"optim": {"epochs": 0}})


def test_yaml_round_trip_and_overrides(tmp_path):
    spec = RunSpec.from_dict({"data": {"path": "a.csv"}, "optim": {"epochs": 7}})
    path = tmp_path / "run.yaml"
    path.write_text(spec.to_yaml())
    loaded = RunSpec.from_yaml(path)
    assert loaded == spec
    overridden = loaded.with_overrides({"optim.epochs": 3, "optim.lr": None})
    assert overridden.optim.epochs == 3 and overridden.optim.lr is None and overridden.data.path == "a.csv"


def test_flat_options_map_to_config_keys_and_reject_typos():
    assert flat_to_dotted({"epochs": 2, "backbone": "bundled:minilm"}) == {
        "optim.epochs": 2,
        "backbone.spec": "bundled:minilm",
    }
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        flat_to_dotted({"epoch": 2})


def test_config_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        RunSpec.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match=r"bad\.yaml is not valid YAML"):
        RunSpec.from_yaml(bad)


def test_typo_gets_the_closest_key():
    with pytest.raises(ConfigError, match=r"did you mean 'optim\.epochs'"):
        RunSpec.from_dict({"optim": {"epochz": 3}})


def test_flat_names_come_from_the_schema_and_keep_their_old_spellings():
    assert flat_to_dotted({"data": "a.csv", "valid_data": "v.csv", "train_batch_size": 8, "augment": "light"}) == {
        "data.path": "a.csv",
        "data.valid_path": "v.csv",
        "optim.batch_size": 8,
        "augment.policy": "light",
    }
    assert flat_to_dotted({"augment_text": "eda", "batch_size": 4, "name": "r", "strategy": "probe"}) == {
        "augment.text": "eda",
        "backbone.batch_size": 4,
        "run.name": "r",
        "strategy.name": "probe",
    }
    assert all(option.description for option in RUN_OPTIONS.values())  # every flag has help text
    assert RUN_OPTIONS["head"].choices == ("linear", "mlp") and RUN_OPTIONS["weight_decay"].choices is None


def test_strategy_specific_option_with_another_strategy_names_the_option_and_the_fix():
    with pytest.raises(ConfigError, match=r"'strategy\.lora_rank'.*only by strategy lora, not probe.*--strategy lora"):
        RunSpec.from_dict({"strategy": {"name": "probe", "lora_rank": 4}})
    with pytest.raises(ConfigError, match=r"'strategy\.stage1_epochs'.*not lora"):
        RunSpec.from_dict({"strategy": {"name": "lora", "stage1_epochs": 5}})
    with pytest.raises(ConfigError, match=r"'strategy\.probe_solver'.*not finetune"):
        RunSpec.from_dict({"strategy": {"name": "finetune", "probe_solver": "sklearn"}})
    with pytest.raises(ConfigError, match=r"'strategy\.unfreeze'.*not probe"):
        RunSpec.from_dict({"strategy": {"name": "probe", "unfreeze": 2}})


def test_strategy_specific_options_still_load_where_they_apply_or_at_their_defaults():
    assert RunSpec.from_dict({"strategy": {"lora_rank": 8}}).strategy.name == "auto"  # the default: harmless
    assert RunSpec.from_dict({"strategy": {"name": "lora", "lora_rank": 4}}).strategy.lora_rank == 4
    assert RunSpec.from_dict({"strategy": {"name": "probe", "probe_solver": "sklearn"}}).strategy.probe_solver
    resolved = RunSpec.from_dict({"strategy": {"unfreeze": 2, "l2sp": 0.1, "lr_decay": 0.7}}).strategy
    assert (resolved.name, resolved.unfreeze) == ("two-stage", 2)  # auto + fine-tuning options: LP-FT


def test_with_strategy_drops_options_the_new_strategy_does_not_use():
    lora = RunSpec.from_dict({"strategy": {"name": "lora", "lora_rank": 4, "l2sp": 0.1}, "optim": {"epochs": 2}})
    probe = lora.with_strategy("probe")
    assert (probe.strategy.name, probe.strategy.lora_rank, probe.strategy.l2sp, probe.optim.epochs) == (
        "probe",
        8,
        0.0,
        2,
    )
    assert lora.with_strategy("finetune").strategy.l2sp == 0.1  # fine-tuning keeps its own options


def test_config_imports_nothing_above_it():
    """The schema sits under strategies, imbalance and the rest: it imports only the modules below it (errors, the
    run folder's YAML reader), inside functions too, so validating a config loads no strategy."""
    tree = ast.parse(Path(transferkit.config.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    below = {"transferkit.errors", "transferkit.run_folder", "transferkit.version"}
    assert {name for name in imported if name.startswith("transferkit")} <= below


def test_builtin_strategy_names_match_the_registry():
    from transferkit.strategies import available_strategies

    assert set(available_strategies()) == set(BUILTIN_STRATEGIES) == set(strategy_names())


def test_class_weight_parsing_is_shared_with_the_imbalance_package():
    assert weights.parse_class_weight is parse_class_weight
    assert parse_class_weight('{"bad": 5}') == ("map", {"bad": 5.0})
    with pytest.raises(ConfigError, match=r"'imbalance\.class_weight' option must be none, balanced"):
        RunSpec.from_dict({"imbalance": {"class_weight": "effective:2"}})
