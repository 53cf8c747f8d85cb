"""The labelling loop: zero-shot start, active learning, label audit and distillation."""
