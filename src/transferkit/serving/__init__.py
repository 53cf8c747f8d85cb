"""The HTTP server: transferkit serve over a model folder or an exported bundle."""
