# corpus: buggy
# fails: test_model_constructor test_model_matches_reference test_learns_to_reverse
# message: are not the ones the README specifies
# passes: test_encoder_matches_reference
"""Buggy: the output layer reads the state alone (Linear(hidden_dim, vocab)), not [state, context]."""
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
        outputs, _ = self.rnn(self.embedding(src))
        last = src_mask.sum(dim=1) - 1
        final = outputs[torch.arange(src.shape[0]), last]
        return outputs * src_mask.unsqueeze(-1), final


class Decoder(torch.nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocab_size, embed_dim)
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.rnn = torch.nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = torch.nn.Linear(hidden_dim, vocab_size)

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            context, w = self.attention(state, enc_outputs, enc_outputs, src_mask)
            state = self.rnn(torch.cat([self.embedding(tgt_in[:, t]), context], dim=-1), state)
            logits.append(self.out(state))
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
