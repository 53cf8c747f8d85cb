"""The command line starts light: --help, --version and option errors do not load torch, transformers or Lightning."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "lightning", "sklearn", "timm")


def test_importing_the_cli_loads_no_model_library():
    code = f"import sys, transferkit.cli; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "", f"transferkit.cli imported {loaded} at start-up; import it inside the command that needs it"


def test_lazy_package_names_resolve_to_the_objects_they_name():
    import transferkit
    import transferkit.adaptation.domain_shift  # a submodule loaded first must not shadow a name
    from transferkit.adaptation import shift
    from transferkit.adaptation.api import shift as api_shift
    from transferkit.rl import transfer_metrics
    from transferkit.rl.metrics import transfer_metrics as metrics_transfer_metrics

    assert shift is api_shift and transferkit.shift is api_shift
    assert transfer_metrics is metrics_transfer_metrics
    assert "forecast" in dir(__import__("transferkit.forecasting", fromlist=["forecast"]))
