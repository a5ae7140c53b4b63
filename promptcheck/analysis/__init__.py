"""Analyses of a run beyond accuracy: what the model represents (representations.py)."""
