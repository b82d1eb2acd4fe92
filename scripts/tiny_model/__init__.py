"""Modules of scripts/train_tiny_model.py (recipe, synthetic tasks, training, evaluation, saved files)."""
