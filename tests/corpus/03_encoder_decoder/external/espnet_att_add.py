# corpus: buggy
# fails: test_constructor
# source: https://github.com/espnet/espnet/blob/0d1f3dfe215d1bf752a57510aafdcea7b1806d59/espnet/nets/pytorch_backend/rnn/attentions.py
# source: (espnet/espnet, RNN attentions: AttAdd)
# commit: 0d1f3dfe215d1bf752a57510aafdcea7b1806d59
# licence: Apache-2.0
# adapted: re-expressed, not copied. mlp_dec/mlp_enc/gvec are query_proj/key_proj/score with the source's biases
# adapted: (mlp_enc and gvec have one); forward(query, keys, values, mask) stands for the source's (enc_hs_pad,
# adapted: enc_hs_len, dec_z, att_prev): the source's padding mask (make_pad_mask of the lengths, True at padding) is
# adapted: ~mask, computed once and kept like the source's self.mask, and the context sums values where the source
# adapted: sums enc_hs_pad (its keys are its values). scaling keeps its default 2.0. The source has no
# adapted: encoder-decoder here: Encoder, Decoder and Seq2Seq are not defined.
# bug: the key and score projections have biases; the softmax is taken of 2.0 * scores (a temperature); the
# bug: projected keys, the values and the mask are cached on the first call and reused by every later call until
# bug: reset(), so a second call with other keys attends over the first call's; a fully masked row gives NaN.
# expected-diagnosis: the projections have biases; the softmax of 2 * scores; keys, values and mask cached across calls; a fully masked row gives NaN
# names: bias; 2.0 | temperature; cached | second call; NaN
"""ESPnet's additive attention for RNN decoders, fitted to the 03 contract (attention only)."""
import torch
import torch.nn.functional as F


class AdditiveAttention(torch.nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim)
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1)
        self.dunits = query_dim
        self.att_dim = hidden_dim
        self.h_length = None
        self.enc_h = None
        self.pre_compute_enc_h = None
        self.mask = None

    def reset(self):
        self.h_length = None
        self.enc_h = None
        self.pre_compute_enc_h = None
        self.mask = None

    def forward(self, query, keys, values, mask=None, scaling=2.0):
        batch = len(keys)
        if self.pre_compute_enc_h is None:
            self.enc_h = values
            self.h_length = keys.size(1)
            self.pre_compute_enc_h = self.key_proj(keys)
        dec_z_tiled = self.query_proj(query.view(batch, self.dunits)).view(batch, 1, self.att_dim)
        e = self.score(torch.tanh(self.pre_compute_enc_h + dec_z_tiled)).squeeze(2)
        if self.mask is None and mask is not None:
            self.mask = ~mask
        if self.mask is not None:
            e.masked_fill_(self.mask, -float("inf"))
        w = F.softmax(scaling * e, dim=1)
        c = torch.sum(self.enc_h * w.view(batch, self.h_length, 1), dim=1)
        return c, w
