# corpus: bad_input
# message: has a SyntaxError on line 8
"""A syntax error on line 8."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True)
        super().__init__()
