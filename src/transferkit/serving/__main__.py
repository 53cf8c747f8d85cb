"""`python -m transferkit.serving BUNDLE [--port ...]`: `transferkit serve` (the same options) without loading the
rest of the command line, whose other commands import torch, pandas and scikit-learn. Serving a bundle this way
needs only the runtime's packages (onnxruntime, numpy, tokenizers, Pillow) and fastapi, uvicorn, python-multipart
and typer; a model folder still needs torch to export its temporary bundle."""

import sys

import typer

from transferkit.errors import TransferKitError
from transferkit.serving.cli import serve


def main() -> None:
    """Run the server; a user error (a damaged bundle, a bad option) is one line on stderr and exit code 2."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(serve)
    try:
        app()
    except TransferKitError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
