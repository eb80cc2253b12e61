"""03_encoder_decoder: additive (Bahdanau) attention, and a sequence-to-sequence model built on it.

Fill in __init__ and forward of AdditiveAttention, Encoder, Decoder and Seq2Seq (in that order).

Grade with:  grade exercises/03_encoder_decoder
Not allowed: torch.nn.MultiheadAttention, torch.nn.Transformer and its
Encoder/Decoder(Layer) classes, F.scaled_dot_product_attention.
"""

from __future__ import annotations

import torch


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
        raise NotImplementedError("03_encoder_decoder: implement AdditiveAttention.__init__")

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (context (B, Dv), weights (B, L))."""
        raise NotImplementedError("03_encoder_decoder: implement AdditiveAttention.forward")


class Encoder(torch.nn.Module):
    """Reads the source left to right.

        embedding  Embedding(vocab_size, embed_dim)
        rnn        GRU(embed_dim, hidden_dim, batch_first=True)

    forward(src (B, S) long, src_mask (B, S) bool; True = real token, real tokens first) returns
        outputs (B, S, hidden_dim): the GRU's outputs, 0 at padding
        final   (B, hidden_dim):    the output at each row's last real token
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int):
        raise NotImplementedError("03_encoder_decoder: implement Encoder.__init__")

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (outputs (B, S, hidden_dim), final (B, hidden_dim))."""
        raise NotImplementedError("03_encoder_decoder: implement Encoder.forward")


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
    """

    def __init__(self, vocab_size: int, embed_dim: int, hidden_dim: int, attention_dim: int):
        raise NotImplementedError("03_encoder_decoder: implement Decoder.__init__")

    def forward(self, tgt_in: torch.Tensor, state: torch.Tensor, enc_outputs: torch.Tensor,
                src_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (B, T, vocab_size), weights (B, T, S))."""
        raise NotImplementedError("03_encoder_decoder: implement Decoder.forward")


class Seq2Seq(torch.nn.Module):
    """encoder = Encoder(src_vocab, embed_dim, hidden_dim);
    decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim).

    forward(src (B, S), src_mask (B, S), tgt_in (B, T)) returns
        logits  (B, T, tgt_vocab): the scores of the next target token at every step
        weights (B, T, S):         the decoder's attention over the source at every step
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int, hidden_dim: int, attention_dim: int):
        raise NotImplementedError("03_encoder_decoder: implement Seq2Seq.__init__")

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor,
                tgt_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (B, T, tgt_vocab), weights (B, T, S))."""
        raise NotImplementedError("03_encoder_decoder: implement Seq2Seq.forward")
