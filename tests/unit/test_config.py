import pytest

from transferkit.config import RunSpec, flat_to_dotted
from transferkit.errors import ConfigError


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
