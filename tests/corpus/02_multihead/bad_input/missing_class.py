# corpus: bad_input
# message: does not define MultiHeadAttention
"""Defines the class under another name."""
import torch


class MultiheadAttention(torch.nn.Module):
    pass
