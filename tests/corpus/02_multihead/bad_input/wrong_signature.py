# corpus: bad_input
# message: TypeError while creating MultiHeadAttention
"""__init__ takes the wrong arguments."""
import torch


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim):
        super().__init__()
