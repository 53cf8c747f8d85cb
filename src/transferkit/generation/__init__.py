"""Language-model transfer: causal-LM continued pretraining and prompt -> response tuning, and generation."""
