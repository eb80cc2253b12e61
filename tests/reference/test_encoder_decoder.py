"""attention_reference.encoder_decoder.AdditiveAttention against the formula, written out element by element in float64."""

from __future__ import annotations

import math

import pytest
import torch

from attention_reference import encoder_decoder as ref
from attention_reference.encoder_decoder import AdditiveAttention


def randn(*shape, seed: int, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=torch.float64).to(dtype)


def build(Dq: int, Dk: int, Hd: int, dtype=torch.float64, seed: int = 0) -> AdditiveAttention:
    torch.manual_seed(seed)
    return AdditiveAttention(Dq, Dk, Hd).to(dtype)


def padding_mask(B: int, L: int, *, seed: int, empty_row: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, L + 1, (B,), generator=g)
    lengths[0] = max(L - 1, 1)
    if empty_row:
        lengths[-1] = 0
    return torch.arange(L)[None, :] < lengths[:, None]                  # (B, L)


def formula(module: AdditiveAttention, query, keys, values, mask=None):
    """score_l = w . tanh(Wq q + Wk k_l); softmax over real l; context = sum_l weight_l v_l; plain Python floats."""
    Wq, Wk = module.query_proj.weight.double().tolist(), module.key_proj.weight.double().tolist()
    w = module.score.weight.double()[0].tolist()
    B, L, _ = keys.shape
    Dv = values.shape[-1]
    contexts, all_weights = [], []
    for b in range(B):
        q = query[b].double().tolist()
        scores = []
        for l in range(L):
            k = keys[b, l].double().tolist()
            hidden = [math.tanh(sum(a * x for a, x in zip(Wq[h], q)) + sum(a * x for a, x in zip(Wk[h], k)))
                      for h in range(len(w))]
            scores.append(sum(a * x for a, x in zip(w, hidden)))
        real = [mask is None or bool(mask[b, l]) for l in range(L)]
        top = max((s for s, r in zip(scores, real) if r), default=0.0)
        exps = [math.exp(s - top) if r else 0.0 for s, r in zip(scores, real)]
        total = sum(exps)
        weights = [e / total if total > 0 else 0.0 for e in exps]
        context = [sum(weights[l] * float(values[b, l, j]) for l in range(L)) for j in range(Dv)]
        contexts.append(context)
        all_weights.append(weights)
    return torch.tensor(contexts, dtype=torch.float64), torch.tensor(all_weights, dtype=torch.float64)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("B,L,Dq,Dk,Dv,Hd", [(2, 5, 3, 4, 6, 7), (1, 1, 2, 2, 1, 3), (3, 4, 6, 5, 2, 4)])
def test_matches_formula(B, L, Dq, Dk, Dv, Hd, masked):
    module = build(Dq, Dk, Hd, seed=1)
    query, keys, values = randn(B, Dq, seed=2), randn(B, L, Dk, seed=3), randn(B, L, Dv, seed=4)
    mask = padding_mask(B, L, seed=5) if masked else None
    context, weights = module(query, keys, values, mask)
    assert context.shape == (B, Dv) and weights.shape == (B, L)
    expected_context, expected_weights = formula(module, query, keys, values, mask)
    torch.testing.assert_close(weights, expected_weights, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(context, expected_context, atol=1e-12, rtol=1e-10)


def test_float32_close_to_float64_formula_and_keeps_dtype():
    module = build(4, 3, 5, dtype=torch.float32, seed=6)
    query, keys, values = (randn(*s, seed=7 + i, dtype=torch.float32) for i, s in enumerate(((2, 4), (2, 6, 3), (2, 6, 2))))
    mask = padding_mask(2, 6, seed=10)
    context, weights = module(query, keys, values, mask)
    assert context.dtype == torch.float32 and weights.dtype == torch.float32
    expected_context, expected_weights = formula(module, query, keys, values, mask)
    torch.testing.assert_close(weights.double(), expected_weights, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(context.double(), expected_context, atol=1e-6, rtol=1e-5)


def test_padding_gets_zero_weight_and_cannot_change_the_context():
    module = build(3, 4, 5, seed=11)
    query, keys, values = randn(3, 3, seed=12), randn(3, 6, 4, seed=13), randn(3, 6, 2, seed=14)
    mask = padding_mask(3, 6, seed=15)
    assert not mask.all()
    context, weights = module(query, keys, values, mask)
    assert torch.equal(weights[~mask], torch.zeros_like(weights[~mask]))
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, dtype=torch.float64))
    noise_keys = keys + 100 * randn(3, 6, 4, seed=16) * (~mask)[..., None]
    noise_values = values + 100 * randn(3, 6, 2, seed=17) * (~mask)[..., None]
    context2, weights2 = module(query, noise_keys, noise_values, mask)
    torch.testing.assert_close(context2, context, atol=1e-12, rtol=0)
    torch.testing.assert_close(weights2, weights, atol=1e-12, rtol=0)


def test_fully_masked_row_gives_zeros_and_finite_gradients():
    module = build(3, 4, 5, seed=18)
    query = randn(3, 3, seed=19).requires_grad_(True)
    keys = randn(3, 5, 4, seed=20).requires_grad_(True)
    values = randn(3, 5, 2, seed=21).requires_grad_(True)
    mask = padding_mask(3, 5, seed=22, empty_row=True)
    assert not mask[-1].any()
    context, weights = module(query, keys, values, mask)
    assert torch.equal(weights[-1], torch.zeros(5, dtype=torch.float64))
    assert torch.equal(context[-1], torch.zeros(2, dtype=torch.float64))
    expected_context, expected_weights = formula(module, query.detach(), keys.detach(), values.detach(), mask)
    torch.testing.assert_close(context, expected_context)
    (context.sum() + (weights * randn(3, 5, seed=23)).sum()).backward()
    for t in (query, keys, values, *module.parameters()):
        assert torch.isfinite(t.grad).all()


def test_gradcheck_with_a_fully_masked_row():
    module = build(3, 2, 4, seed=24)
    names = [n for n, _ in module.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for p in module.parameters()]
    inputs = [randn(*s, seed=25 + i).requires_grad_(True) for i, s in enumerate(((2, 3), (2, 4, 2), (2, 4, 3)))]
    mask = padding_mask(2, 4, seed=28, empty_row=True)

    def fn(query, keys, values, *p):
        return torch.func.functional_call(module, dict(zip(names, p)), (query, keys, values, mask))

    assert torch.autograd.gradcheck(fn, (*inputs, *params))


def test_submodules_exactly():
    module = AdditiveAttention(3, 4, 5)
    children = dict(module.named_children())
    assert sorted(children) == ["key_proj", "query_proj", "score"]
    shapes = {name: (c.in_features, c.out_features, c.bias) for name, c in children.items()}
    assert shapes == {"query_proj": (3, 5, None), "key_proj": (4, 5, None), "score": (5, 1, None)}
    assert sorted(dict(module.named_parameters())) == ["key_proj.weight", "query_proj.weight", "score.weight"]


# -- the sequence-to-sequence model -------------------------------------------------------------

def _padded_batch(B=3, S=5, T=4, vocab=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([S] + torch.randint(1, S + 1, (B - 1,), generator=g).tolist())
    src = torch.randint(0, vocab, (B, S), generator=g)
    mask = torch.arange(S)[None, :] < lengths[:, None]
    return src, mask, torch.randint(0, vocab, (B, T), generator=g), lengths


def test_encoder_final_is_the_packed_grus_last_state():
    # An independent route: pack_padded_sequence never feeds padding to the GRU, so h_n is the
    # output at each row's last real token, and the padded outputs come back as zeros.
    torch.manual_seed(0)
    encoder = ref.Encoder(7, 4, 6).double()
    src, mask, _, lengths = _padded_batch()
    outputs, final = encoder(src, mask)
    packed = torch.nn.utils.rnn.pack_padded_sequence(encoder.embedding(src), lengths, batch_first=True,
                                                     enforce_sorted=False)
    packed_outputs, h_n = encoder.rnn(packed)
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(packed_outputs, batch_first=True, total_length=5)
    torch.testing.assert_close(final, h_n[0])
    torch.testing.assert_close(outputs, padded)


def test_seq2seq_decoder_step_by_hand_and_shapes():
    torch.manual_seed(1)
    model = ref.Seq2Seq(7, 9, 4, 6, 5).double()
    src, mask, tgt_in, _ = _padded_batch(T=3)
    logits, weights = model(src, mask, tgt_in)
    assert logits.shape == (3, 3, 9) and weights.shape == (3, 3, 5)
    outputs, state = model.encoder(src, mask)
    dec = model.decoder
    for t in range(3):  # the README's step, written out once more
        scores = dec.attention.score(torch.tanh(dec.attention.query_proj(state)[:, None]
                                                + dec.attention.key_proj(outputs))).squeeze(-1)
        w = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
        context = torch.einsum("bs,bsh->bh", w, outputs)
        state = dec.rnn(torch.cat([dec.embedding(tgt_in[:, t]), context], -1), state)
        torch.testing.assert_close(logits[:, t], dec.out(torch.cat([state, context], -1)))
        torch.testing.assert_close(weights[:, t], w)


def test_seq2seq_padding_tokens_and_future_targets_change_nothing():
    torch.manual_seed(2)
    model = ref.Seq2Seq(7, 9, 4, 6, 5).double()
    src, mask, tgt_in, _ = _padded_batch()
    logits, weights = model(src, mask, tgt_in)
    other_src = torch.where(mask, src, (src + 3) % 7)
    later = tgt_in.clone()
    later[:, 2:] = (later[:, 2:] + 1) % 9
    torch.testing.assert_close(model(other_src, mask, tgt_in), (logits, weights), rtol=0, atol=0)
    torch.testing.assert_close(model(src, mask, later)[0][:, :2], logits[:, :2], rtol=0, atol=0)
    assert bool((weights[~mask[:, None, :].expand_as(weights)] == 0).all())
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, dtype=torch.float64))
