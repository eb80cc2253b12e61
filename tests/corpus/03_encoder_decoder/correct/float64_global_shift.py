# corpus: correct
"""Correct: float64 inside (a global max is safe here: tanh bounds the scores), mask by multiplication."""
import torch


class AdditiveAttention(torch.nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = torch.nn.Linear(query_dim, hidden_dim, bias=False)
        self.key_proj = torch.nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = torch.nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values, mask=None):
        scores = self.score(torch.tanh(self.query_proj(query)[:, None, :] + self.key_proj(keys))).squeeze(-1)
        keep = torch.ones_like(scores, dtype=torch.bool) if mask is None else mask
        e = torch.exp(scores.double() - scores.double().max()) * keep
        weights = (e / e.sum(dim=-1, keepdim=True).clamp_min(1e-300)).to(scores.dtype)
        context = (weights.unsqueeze(-1) * values).sum(dim=1)
        return context, weights


class Encoder(torch.nn.Module):
    """Packs the padded batch, so the GRU never reads padding; h_n is the last real output."""

    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.rnn = torch.nn.GRU(embed_dim, hidden_dim, batch_first=True)

    def forward(self, src, src_mask):
        lengths = src_mask.sum(dim=1).cpu()
        packed = torch.nn.utils.rnn.pack_padded_sequence(self.embedding(src), lengths, batch_first=True,
                                                         enforce_sorted=False)
        outputs, h_n = self.rnn(packed)
        outputs, _ = torch.nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True,
                                                            total_length=src.shape[1])
        return outputs, h_n[0]


class Decoder(torch.nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.rnn = torch.nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = torch.nn.Linear(2 * hidden_dim, vocab_size)

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        embedded = self.embedding(tgt_in)
        steps = []
        for token in embedded.unbind(dim=1):
            context, w = self.attention(state, enc_outputs, enc_outputs, mask=src_mask)
            state = self.rnn(torch.cat((token, context), dim=1), state)
            steps.append((torch.cat((state, context), dim=1), w))
        features = torch.stack([f for f, _ in steps], dim=1)
        return self.out(features), torch.stack([w for _, w in steps], dim=1)


class Seq2Seq(torch.nn.Module):
    def __init__(self, src_vocab, tgt_vocab, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_dim)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)

    def forward(self, src, src_mask, tgt_in):
        enc_outputs, final = self.encoder(src, src_mask)
        return self.decoder(tgt_in, final, enc_outputs, src_mask)
