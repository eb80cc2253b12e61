# corpus: buggy
# fails: test_encoder_matches_reference test_model_matches_reference
# diagnosis: sorted by length
"""Buggy: the encoder packs the batch with pack_padded_sequence's default enforce_sorted=True, which raises unless the rows come longest first (right otherwise: padding is zero, the final state the last real one)."""
import torch


class AdditiveAttention(torch.nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values, mask=None):
        scores = self.score(torch.tanh(self.query_proj(query)[:, None, :] + self.key_proj(keys))).squeeze(-1)
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        top = scores.amax(dim=-1, keepdim=True)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        e = torch.exp(scores - top)
        total = e.sum(dim=-1, keepdim=True)
        weights = e / torch.where(total > 0, total, torch.ones_like(total))
        context = torch.einsum("bl,bld->bd", weights, values)
        return context, weights


class Encoder(torch.nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.rnn = torch.nn.GRU(embed_dim, hidden_dim, batch_first=True)

    def forward(self, src, src_mask):
        lengths = src_mask.sum(dim=1).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.embedding(src), lengths, batch_first=True)
        outputs, final = self.rnn(packed)                       # enforce_sorted=True: longest first only
        outputs, _ = torch.nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=src.shape[1])
        return outputs, final[0]


class Decoder(torch.nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.rnn = torch.nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = torch.nn.Linear(2 * hidden_dim, vocab_size)

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            context, w = self.attention(state, enc_outputs, enc_outputs, src_mask)
            state = self.rnn(torch.cat([self.embedding(tgt_in[:, t]), context], dim=-1), state)
            logits.append(self.out(torch.cat([state, context], dim=-1)))
            weights.append(w)
        return torch.stack(logits, dim=1), torch.stack(weights, dim=1)


class Seq2Seq(torch.nn.Module):
    def __init__(self, src_vocab, tgt_vocab, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_dim)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)

    def forward(self, src, src_mask, tgt_in):
        enc_outputs, final = self.encoder(src, src_mask)
        return self.decoder(tgt_in, final, enc_outputs, src_mask)
