# corpus: buggy
# fails: test_constructor test_encoder_matches_reference
# source: https://github.com/bentrevett/pytorch-seq2seq/blob/1974baee989b009d1ea6d950cbc5271e701be265/4%20-%20Packed%20Padded%20Sequences%2C%20Masking%2C%20Inference%20and%20BLEU.ipynb
# source: (bentrevett/pytorch-seq2seq, "4 - Packed Padded Sequences, Masking, Inference and BLEU.ipynb": Encoder,
# source: Attention, Decoder, Seq2Seq)
# commit: 1974baee989b009d1ea6d950cbc5271e701be265
# licence: MIT
# adapted: re-expressed, not copied. Attention: the source's attn = Linear([hidden; encoder_outputs] -> dec_hid) is
# adapted: the same map split by its input columns: query_proj (keeping attn's bias) and key_proj (no bias); its
# adapted: v Parameter is score's weight (v . energy = score(energy)); tensors are batch-first. The source's
# adapted: bidirectional encoder with a tanh(fc(...)) bridge becomes the contract's one-directional GRU, kept packed
# adapted: as the source does (pack_padded_sequence(embedded, src_len) with its default enforce_sorted=True), the
# adapted: final state being the packed GRU's last state. Decoder: the source's step (attend with the previous hidden,
# adapted: rnn input [embedded, weighted]) with the contract's GRUCell and out on [output, weighted] (the source's
# adapted: out also sees the embedding). Dropout has no default in the source, so 0. Seq2Seq: teacher forcing always
# adapted: (the contract's tgt_in), so the source's random teacher-forcing ratio is left out.
# bug: the query projection carries attn's bias (the contract's projections have none); masked scores are filled with
# bug: -1e10, so a row with no real position gets uniform weights; pack_padded_sequence with enforce_sorted=True raises
# bug: unless the batch is sorted by decreasing length (the tutorial's iterator sorts it; nothing else does).
# expected-diagnosis: the query projection has a bias; packing needs a batch sorted by length; -1e10 gives a row with no real position uniform weights
# names: bias; sorted | enforce_sorted; uniform
"""bentrevett's packed, masked attention seq2seq tutorial, fitted to the 03 contract."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class AdditiveAttention(nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim)
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=False)
        self.score = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query, keys, values, mask=None):
        src_len = keys.shape[1]
        hidden = self.query_proj(query).unsqueeze(1).repeat(1, src_len, 1)
        energy = torch.tanh(hidden + self.key_proj(keys))
        attention = self.score(energy).squeeze(2)
        if mask is not None:
            attention = attention.masked_fill(mask == 0, -1e10)
        a = F.softmax(attention, dim=1)
        weighted = torch.bmm(a.unsqueeze(1), values).squeeze(1)
        return weighted, a


class Encoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True)
        self.dropout = nn.Dropout(0)

    def forward(self, src, src_mask):
        src_len = src_mask.sum(dim=1).cpu()
        embedded = self.dropout(self.embedding(src))
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, src_len, batch_first=True)
        packed_outputs, hidden = self.rnn(packed_embedded)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs, batch_first=True,
                                                      total_length=src.shape[1])
        return outputs, hidden[-1]


class Decoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = nn.Linear(2 * hidden_dim, vocab_size)
        self.dropout = nn.Dropout(0)

    def step(self, input, hidden, encoder_outputs, mask):
        embedded = self.dropout(self.embedding(input))
        weighted, a = self.attention(hidden, encoder_outputs, encoder_outputs, mask)
        hidden = self.rnn(torch.cat((embedded, weighted), dim=1), hidden)
        return self.out(torch.cat((hidden, weighted), dim=1)), hidden, a

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        outputs, attentions, hidden = [], [], state
        for t in range(tgt_in.shape[1]):
            output, hidden, a = self.step(tgt_in[:, t], hidden, enc_outputs, src_mask)
            outputs.append(output)
            attentions.append(a)
        return torch.stack(outputs, dim=1), torch.stack(attentions, dim=1)


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_dim)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)

    def forward(self, src, src_mask, tgt_in):
        encoder_outputs, hidden = self.encoder(src, src_mask)
        return self.decoder(tgt_in, hidden, encoder_outputs, src_mask)
