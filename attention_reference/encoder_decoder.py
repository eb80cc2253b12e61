"""Reference for 03_encoder_decoder: additive (Bahdanau) attention and the
sequence-to-sequence model built on it (a GRU encoder, a GRU decoder that
attends over the encoder's outputs at every step).

Token conventions: ``src_mask`` is True at real tokens, which come first in
each row (right padding), and every row has at least one. ``tgt_in`` is the
decoder's input with teacher forcing (the start token, then the target
shifted right by one).
"""

from __future__ import annotations

import torch




# Each reference is also graded as a single-file submission (`grade --submission
# attention_reference/<name>.py`), and a submission cannot import other modules of the
# project, so this module keeps its own copy of the masked softmax of
# attention_reference/softmax.py (see there for why it is written this way).
def _masked_softmax(x: torch.Tensor, mask: torch.Tensor | None, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim`` over entries where ``mask`` (True = may attend); empty slices give zeros."""
    keep = x != float("-inf")
    if mask is not None:
        keep = torch.broadcast_to(mask, x.shape) & keep                        # (...) like x
    neg_inf = torch.full((), float("-inf"), dtype=x.dtype, device=x.device)
    row_max = torch.where(keep, x, neg_inf).amax(dim=dim, keepdim=True).detach()
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(torch.where(keep, x - row_max, neg_inf))                   # exactly 0 where not kept
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))

class AdditiveAttention(torch.nn.Module):
    """Additive attention of one decoder state over L encoder outputs.

        scores_l = w^T tanh(Wq query + Wk keys_l)        (score, query_proj, key_proj; no biases)
        weights  = masked_softmax(scores, mask)          (over the L positions)
        context  = sum_l weights_l * values_l

    Shapes:
        query    (B, Dq)
        keys     (B, L, Dk)
        values   (B, L, Dv)
        mask     (B, L) bool; True = real position
        context  (B, Dv)
        weights  (B, L); a row with no real position is all zeros (and so is its context)
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int):
        """Create exactly three submodules, all without bias:
        query_proj = Linear(query_dim, hidden_dim), key_proj = Linear(key_dim, hidden_dim),
        score = Linear(hidden_dim, 1)."""
        super().__init__()
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (context (B, Dv), weights (B, L))."""
        B, L, _ = keys.shape
        if query.shape[0] != B or values.shape[:2] != (B, L):
            raise ValueError(f"expected query (B, Dq), keys (B, L, Dk), values (B, L, Dv) with the same B and L; "
                             f"got {tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}")
        # 1) project query and keys into the hidden space
        q = self.query_proj(query)[:, None, :]                          # (B, Dq) -> (B, 1, Hd)
        k = self.key_proj(keys)                                         # (B, L, Dk) -> (B, L, Hd)
        # 2) score every position
        scores = self.score(torch.tanh(q + k)).squeeze(-1)              # (B, L, Hd) -> (B, L, 1) -> (B, L)
        # 3) normalise over the positions
        weights = _masked_softmax(scores, mask, dim=-1)  # (B, L)
        # 4) weighted sum of the values
        context = (weights[:, None, :] @ values).squeeze(1)             # (B, 1, L) @ (B, L, Dv) -> (B, 1, Dv) -> (B, Dv)
        return context, weights


class Encoder(torch.nn.Module):
    """Reads the source left to right.

        embedding  Embedding(vocab_size, embed_dim)
        rnn        GRU(embed_dim, hidden_dim, batch_first=True)

    forward(src (B, S) long, src_mask (B, S) bool) returns
        outputs (B, S, hidden_dim): the GRU's outputs, 0 at padding
        final   (B, hidden_dim):    the output at each row's last real token
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.rnn = torch.nn.GRU(embed_dim, hidden_dim, batch_first=True)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, _ = self.rnn(self.embedding(src))                          # (B, S, H)
        last = src_mask.sum(dim=1) - 1                                      # (B,) index of the last real token
        final = outputs[torch.arange(src.shape[0], device=src.device), last]  # (B, H)
        outputs = outputs * src_mask[..., None].to(outputs.dtype)            # padding -> 0
        return outputs, final


class Decoder(torch.nn.Module):
    """Writes the target one step at a time, attending over the encoder's outputs.

        embedding  Embedding(vocab_size, embed_dim)
        attention  AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        rnn        GRUCell(embed_dim + hidden_dim, hidden_dim)
        out        Linear(2 * hidden_dim, vocab_size)

    At step t, with state s (the encoder's final output before the first step):
        context, w = attention(s, enc_outputs, enc_outputs, src_mask)
        s          = rnn(cat([embedding(tgt_in[:, t]), context], -1), s)
        logits_t   = out(cat([s, context], -1))

    forward(tgt_in (B, T) long, state (B, H), enc_outputs (B, S, H), src_mask (B, S))
    returns logits (B, T, vocab_size) and the attention weights (B, T, S).
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.rnn = torch.nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = torch.nn.Linear(2 * hidden_dim, vocab_size)

    def forward(self, tgt_in: torch.Tensor, state: torch.Tensor, enc_outputs: torch.Tensor,
                src_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedded = self.embedding(tgt_in)                                   # (B, T, E)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            context, w = self.attention(state, enc_outputs, enc_outputs, src_mask)   # (B, H), (B, S)
            state = self.rnn(torch.cat([embedded[:, t], context], dim=-1), state)    # (B, H)
            logits.append(self.out(torch.cat([state, context], dim=-1)))             # (B, V)
            weights.append(w)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)      # (B, T, V), (B, T, S)


class Seq2Seq(torch.nn.Module):
    """The encoder-decoder: ``encoder = Encoder(src_vocab, embed_dim, hidden_dim)`` and
    ``decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)``.

    forward(src (B, S), src_mask (B, S), tgt_in (B, T)) returns
        logits  (B, T, tgt_vocab): the scores of the next target token at every step
        weights (B, T, S):         the decoder's attention over the source at every step
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_dim)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor,
                tgt_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        enc_outputs, final = self.encoder(src, src_mask)
        return self.decoder(tgt_in, final, enc_outputs, src_mask)
