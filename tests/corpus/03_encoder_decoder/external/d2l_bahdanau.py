# corpus: buggy
# fails: test_encoder_matches_reference test_padding_changes_nothing test_fully_masked_rows
# passes: test_matches_reference_float64 test_padding_mask
# diagnosis: padding included | uniform weights
# source: https://github.com/d2l-ai/d2l-en/blob/003f46d8d6bbe6311a235ca107b93f1b4e897953/chapter_attention-mechanisms-and-transformers/attention-scoring-functions.md
# source: (masked_softmax, AdditiveAttention), .../blob/a8dcf1c4c4bcff8a8ed7de47e4fc10440c87d73e/chapter_recurrent-modern/seq2seq.md
# source: (Seq2SeqEncoder) and .../blob/00c6ffeffa739a5c774968fdcda983e403da0a5d/chapter_attention-mechanisms-and-transformers/bahdanau-attention.md
# source: (Seq2SeqAttentionDecoder), PyTorch tabs of Dive into Deep Learning (d2l.ai)
# commit: 003f46d8d6bbe6311a235ca107b93f1b4e897953, a8dcf1c4c4bcff8a8ed7de47e4fc10440c87d73e,
# commit: 00c6ffeffa739a5c774968fdcda983e403da0a5d
# licence: code MIT-0 (d2l-en's code licence; text CC BY-SA 4.0)
# adapted: re-expressed, not copied. AdditiveAttention: W_q/W_k/w_v are query_proj/key_proj/score (bias-free, as in
# adapted: the book); the book's queries have a num_queries axis, so the contract's (B, Dq) query gets one and loses
# adapted: it after; its dropout rate has no default, so 0; its valid lengths become the contract's mask, used where
# adapted: the book's arange < valid_len mask is (masked scores set to -1e6, then nn.functional.softmax). Encoder: the
# adapted: book's embedding + GRU (batch_first instead of the book's transpose) returning outputs and the GRU's last
# adapted: state, as the book does. Decoder: the book's loop (attend with the previous state, feed the context and the
# adapted: embedding to the GRU), with the contract's GRUCell, its concatenation order [embedding, context] (the book
# adapted: has [context, embedding]) and its out layer on [state, context] (the book's dense sees the state only).
# bug: masked scores are set to -1e6, so a row with no real position gets uniform weights; the encoder's final state is
# bug: the GRU's state after the padding (its last time step), and its outputs at padding are not zeroed.
# expected-diagnosis: fully masked rows get uniform weights (-1e6 instead of -inf and zeros); the encoder's final
# expected-diagnosis: state is taken after the padding, and its outputs are not zeroed at padding
# names: uniform; padding included | last real token; values at padding
"""Dive into Deep Learning's Bahdanau attention model, fitted to the 03 contract."""
import torch
from torch import nn


def masked_softmax(X, mask):
    if mask is None:
        return nn.functional.softmax(X, dim=-1)
    shape = X.shape
    X = X.reshape(-1, shape[-1])
    X[~torch.broadcast_to(mask[:, None, :], shape).reshape(-1, shape[-1])] = -1e6
    return nn.functional.softmax(X.reshape(shape), dim=-1)


class AdditiveAttention(nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.score = nn.Linear(hidden_dim, 1, bias=False)
        self.dropout = nn.Dropout(0)

    def forward(self, query, keys, values, mask=None):
        queries, keys = self.query_proj(query.unsqueeze(1)), self.key_proj(keys)
        features = queries.unsqueeze(2) + keys.unsqueeze(1)
        features = torch.tanh(features)
        scores = self.score(features).squeeze(-1)
        self.attention_weights = masked_softmax(scores, mask)
        context = torch.bmm(self.dropout(self.attention_weights), values)
        return context.squeeze(1), self.attention_weights.squeeze(1)


class Encoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True)

    def forward(self, src, src_mask):
        embs = self.embedding(src.type(torch.int64))
        outputs, state = self.rnn(embs)
        return outputs, state[-1]


class Decoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = nn.Linear(2 * hidden_dim, vocab_size)

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        X = self.embedding(tgt_in).permute(1, 0, 2)
        outputs, attention_weights = [], []
        hidden_state = state
        for x in X:
            context, weights = self.attention(hidden_state, enc_outputs, enc_outputs, src_mask)
            hidden_state = self.rnn(torch.cat((x, context), dim=-1), hidden_state)
            outputs.append(self.out(torch.cat((hidden_state, context), dim=-1)))
            attention_weights.append(weights)
        return torch.stack(outputs, dim=1), torch.stack(attention_weights, dim=1)


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_dim)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)

    def forward(self, src, src_mask, tgt_in):
        enc_outputs, state = self.encoder(src, src_mask)
        return self.decoder(tgt_in, state, enc_outputs, src_mask)
