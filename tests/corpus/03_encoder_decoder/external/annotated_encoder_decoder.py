# corpus: buggy
# fails: test_constructor test_encoder_matches_reference
# source: https://github.com/bastings/annotated_encoder_decoder/blob/184ddb59ac0c8c79045c7cdec7c3296d9e951b58/annotated_encoder_decoder.ipynb
# source: (bastings/annotated_encoder_decoder, "The Annotated Encoder-Decoder with Attention": BahdanauAttention, Encoder,
# source: Decoder, an early version of the notebook)
# commit: 184ddb59ac0c8c79045c7cdec7c3296d9e951b58
# licence: unknown (none found in the index)
# adapted: re-expressed, not copied. key_layer/query_layer/energy_layer are key_proj/query_proj/score, with the
# adapted: source's biases (key_layer has one); the source projects the keys once in the decoder, here inside
# adapted: forward; the query gets the source's (B, 1, D) shape and the context and weights lose it after. The
# adapted: source's bidirectional encoder becomes the contract's one-directional GRU, packed as the source does
# adapted: (pack_padded_sequence with enforce_sorted=True: "the input mini-batch x needs to be sorted by length"),
# adapted: the final state being the GRU's last packed state. The decoder's bridge, pre-output layer, dropout and
# adapted: generator are replaced by the contract's state and out layer; its step order (attend with the previous
# adapted: hidden, rnn input [prev_embed, context]) is kept.
# bug: scores.data.masked_fill_(mask & 0, -inf) (the notebook's comment says it inverts the mask): with the uint8
# bug: masks of its day, mask & 0 is all zeros and nothing is masked, so padding gets weight; with today's boolean
# bug: masks, mask & 0 is an integer tensor and masked_fill_ raises (checked with torch 2.13); the key projection
# bug: has a bias; packing needs a batch sorted by decreasing length.
# expected-diagnosis: the key projection has a bias; packing needs a batch sorted by length; mask & 0 is not a boolean mask
# names: bias; sorted | enforce_sorted; boolean mask
"""The Annotated Encoder-Decoder's Bahdanau attention model (an early version), fitted to the 03 contract."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class AdditiveAttention(nn.Module):
    def __init__(self, query_dim, key_dim, hidden_dim):
        super().__init__()
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=True)
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)
        self.score = nn.Linear(hidden_dim, 1, bias=False)
        self.alphas = None

    def forward(self, query, keys, values, mask=None):
        query = self.query_proj(query.unsqueeze(1))
        proj_key = self.key_proj(keys)
        scores = self.score(torch.tanh(query + proj_key))
        scores = scores.squeeze(2).unsqueeze(1)
        if mask is not None:
            scores.data.masked_fill_(mask.unsqueeze(1) & 0, -float("inf"))
        alphas = F.softmax(scores, dim=-1)
        self.alphas = alphas
        context = torch.bmm(alphas, values)
        return context.squeeze(1), alphas.squeeze(1)


class Encoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.rnn = nn.GRU(embed_dim, hidden_dim, batch_first=True)

    def forward(self, src, src_mask):
        lengths = src_mask.sum(dim=1).cpu()
        packed = pack_padded_sequence(self.embedding(src), lengths, batch_first=True)
        output, final = self.rnn(packed)
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=src.shape[1])
        return output, final[-1]


class Decoder(nn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.attention = AdditiveAttention(hidden_dim, hidden_dim, attention_dim)
        self.rnn = nn.GRUCell(embed_dim + hidden_dim, hidden_dim)
        self.out = nn.Linear(2 * hidden_dim, vocab_size)

    def forward_step(self, prev_embed, encoder_hidden, src_mask, hidden):
        context, attn_probs = self.attention(hidden, encoder_hidden, encoder_hidden, src_mask)
        hidden = self.rnn(torch.cat([prev_embed, context], dim=-1), hidden)
        return self.out(torch.cat([hidden, context], dim=-1)), hidden, attn_probs

    def forward(self, tgt_in, state, enc_outputs, src_mask):
        trg_embed = self.embedding(tgt_in)
        hidden, logits, alphas = state, [], []
        for i in range(tgt_in.shape[1]):
            step_logits, hidden, attn_probs = self.forward_step(trg_embed[:, i], enc_outputs, src_mask, hidden)
            logits.append(step_logits)
            alphas.append(attn_probs)
        return torch.stack(logits, dim=1), torch.stack(alphas, dim=1)


class Seq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, embed_dim, hidden_dim, attention_dim):
        super().__init__()
        self.encoder = Encoder(src_vocab, embed_dim, hidden_dim)
        self.decoder = Decoder(tgt_vocab, embed_dim, hidden_dim, attention_dim)

    def forward(self, src, src_mask, tgt_in):
        encoder_hidden, encoder_final = self.encoder(src, src_mask)
        return self.decoder(tgt_in, encoder_final, encoder_hidden, src_mask)
