# corpus: hostile
"""Hostile: Loops forever when imported."""
import torch
while True:
    pass
