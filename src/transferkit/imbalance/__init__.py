"""Class imbalance: class weights, losses, samplers, SMOTE in embedding space, and augmentation (augment*.py)."""
