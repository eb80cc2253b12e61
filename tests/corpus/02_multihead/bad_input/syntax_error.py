# corpus: bad_input
# message: has a SyntaxError on line 9
"""A syntax error on line 9."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True)
        super().__init__()
