"""attention_reference.multihead against torch.nn.MultiheadAttention and F.scaled_dot_product_attention."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attention_reference.multihead import MultiHeadAttention, multihead_attention, scaled_dot_product_attention

TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
MASKS = ("none", "causal", "padding", "random", "fully_masked_rows")


def randn(*shape, seed: int, dtype=torch.float64, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def make_mask(kind: str, B: int, Lq: int, Lk: int, *, seed: int) -> torch.Tensor | None:
    """True = may attend. causal (Lq, Lk); padding (B, 1, 1, Lk); random / fully_masked_rows (B, 1, Lq, Lk)."""
    g = torch.Generator().manual_seed(seed)
    if kind == "none":
        return None
    if kind == "causal":
        return torch.ones(Lq, Lk, dtype=torch.bool).tril(diagonal=Lk - Lq)
    if kind == "padding":
        lengths = torch.randint(1, Lk + 1, (B,), generator=g)
        lengths[0] = Lk - 1 if Lk > 1 else 1                            # some real padding
        return (torch.arange(Lk)[None, :] < lengths[:, None])[:, None, None, :]
    mask = torch.rand(B, 1, Lq, Lk, generator=g) < 0.5
    mask[..., 0] = True
    if kind == "fully_masked_rows":
        mask[:, :, -1, :] = False
    return mask


def real_rows(mask: torch.Tensor | None, shape) -> torch.Tensor:
    """(..., Lq) True where the query row has at least one key it may attend to."""
    if mask is None:
        return torch.ones(shape[:-1], dtype=torch.bool)
    return torch.broadcast_to(mask, shape).any(-1)


def torch_mha(module: MultiHeadAttention, dtype) -> torch.nn.MultiheadAttention:
    """torch.nn.MultiheadAttention with ``module``'s weights: in_proj = cat(q, k, v)."""
    E, H = module.embed_dim, module.num_heads
    bias = module.q_proj.bias is not None
    theirs = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=True, dtype=dtype)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(torch.cat([module.q_proj.weight, module.k_proj.weight, module.v_proj.weight]))
        theirs.out_proj.weight.copy_(module.out_proj.weight)
        if bias:
            theirs.in_proj_bias.copy_(torch.cat([module.q_proj.bias, module.k_proj.bias, module.v_proj.bias]))
            theirs.out_proj.bias.copy_(module.out_proj.bias)
    return theirs


def torch_mask(mask: torch.Tensor | None, B: int, H: int, Lq: int, Lk: int) -> torch.Tensor | None:
    """Our (True = may attend) mask as nn.MultiheadAttention's (B*H, Lq, Lk) attn_mask (True = NOT allowed)."""
    if mask is None:
        return None
    return ~torch.broadcast_to(mask, (B, H, Lq, Lk)).reshape(B * H, Lq, Lk)


def build(E: int, H: int, bias: bool, dtype, seed: int) -> MultiHeadAttention:
    torch.manual_seed(seed)
    module = MultiHeadAttention(E, H, bias=bias).to(dtype)
    if bias:                                                             # nonzero biases, so they matter
        with torch.no_grad():
            for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
                getattr(module, name).bias.copy_(randn(E, seed=seed + len(name), dtype=dtype, scale=0.1))
    return module


# -- scaled_dot_product_attention ---------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("B,H,Lq,Lk,d,dv", [(2, 3, 4, 4, 5, 5), (1, 2, 3, 6, 4, 2), (3, 1, 1, 1, 2, 3)])
def test_sdpa_matches_torch(B, H, Lq, Lk, d, dv, kind, dtype):
    q = randn(B, H, Lq, d, seed=1, dtype=dtype)
    k = randn(B, H, Lk, d, seed=2, dtype=dtype)
    v = randn(B, H, Lk, dv, seed=3, dtype=dtype)
    mask = make_mask(kind, B, Lq, Lk, seed=4)
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    assert out.shape == (B, H, Lq, dv) and weights.shape == (B, H, Lq, Lk)
    assert out.dtype == dtype and weights.dtype == dtype
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    rows = real_rows(mask, weights.shape)
    torch.testing.assert_close(out[rows], expected[rows], **TOL[dtype])
    torch.testing.assert_close(weights.sum(-1)[rows], torch.ones_like(weights.sum(-1)[rows]), **TOL[dtype])
    assert torch.equal(weights[~rows], torch.zeros_like(weights[~rows]))
    assert torch.equal(out[~rows], torch.zeros_like(out[~rows]))
    if kind == "fully_masked_rows":
        assert (~rows).any()


def test_sdpa_gradcheck_with_fully_masked_rows():
    q = randn(2, 2, 3, 4, seed=5).requires_grad_(True)
    k = randn(2, 2, 5, 4, seed=6).requires_grad_(True)
    v = randn(2, 2, 5, 3, seed=7).requires_grad_(True)
    mask = make_mask("fully_masked_rows", 2, 3, 5, seed=8)
    assert torch.autograd.gradcheck(lambda *t: scaled_dot_product_attention(*t, mask), (q, k, v))


# -- MultiHeadAttention against torch.nn.MultiheadAttention ---------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("B,Lq,Lk,E,H", [(2, 3, 4, 8, 2), (3, 5, 5, 12, 3), (1, 1, 2, 6, 6)])
def test_module_matches_torch(B, Lq, Lk, E, H, kind, bias, dtype):
    module = build(E, H, bias, dtype, seed=10)
    theirs = torch_mha(module, dtype)
    query = randn(B, Lq, E, seed=11, dtype=dtype)
    key = randn(B, Lk, E, seed=12, dtype=dtype)
    value = randn(B, Lk, E, seed=13, dtype=dtype)
    mask = make_mask(kind, B, Lq, Lk, seed=14)
    out, weights = module(query, key, value, mask)
    assert out.shape == (B, Lq, E) and weights.shape == (B, H, Lq, Lk)
    assert out.dtype == dtype and weights.dtype == dtype
    expected_out, expected_weights = theirs(query, key, value, attn_mask=torch_mask(mask, B, H, Lq, Lk),
                                            need_weights=True, average_attn_weights=False)
    rows = real_rows(mask, weights.shape)                               # (B, H, Lq)
    torch.testing.assert_close(weights[rows], expected_weights[rows], **TOL[dtype])
    query_rows = rows.all(1)                                             # (B, Lq): real in every head
    torch.testing.assert_close(out[query_rows], expected_out[query_rows], **TOL[dtype])
    # a fully masked row: zero weights, zero attention, so the output is out_proj's bias alone
    assert torch.equal(weights[~rows], torch.zeros_like(weights[~rows]))
    out_bias = module.out_proj.bias if bias else torch.zeros(E, dtype=dtype)
    torch.testing.assert_close(out[~query_rows], out_bias.detach().expand_as(out[~query_rows]))
    assert torch.isfinite(out).all()
    if kind == "fully_masked_rows":
        assert (~query_rows).any()


def test_key_padding_mask_matches_torch():
    B, Lq, Lk, E, H = 3, 4, 6, 8, 4
    module = build(E, H, True, torch.float64, seed=20)
    query, key, value = (randn(B, L, E, seed=21 + i) for i, L in enumerate((Lq, Lk, Lk)))
    mask = make_mask("padding", B, Lq, Lk, seed=22)                     # (B, 1, 1, Lk)
    assert not mask.all()
    out, weights = module(query, key, value, mask)
    expected_out, expected_weights = torch_mha(module, torch.float64)(
        query, key, value, key_padding_mask=~mask[:, 0, 0, :], average_attn_weights=False)
    torch.testing.assert_close(out, expected_out, **TOL[torch.float64])
    torch.testing.assert_close(weights, expected_weights, **TOL[torch.float64])


@pytest.mark.parametrize("kind", ["none", "causal", "random"])
def test_gradients_match_torch(kind):
    B, Lq, Lk, E, H = 2, 4, 4, 6, 2
    module = build(E, H, True, torch.float64, seed=30)
    theirs = torch_mha(module, torch.float64)
    inputs = [randn(B, L, E, seed=31 + i).requires_grad_(True) for i, L in enumerate((Lq, Lk, Lk))]
    inputs_ref = [t.detach().clone().requires_grad_(True) for t in inputs]
    mask = make_mask(kind, B, Lq, Lk, seed=34)
    upstream = randn(B, Lq, E, seed=35)
    module(*inputs, mask)[0].backward(upstream)
    theirs(*inputs_ref, attn_mask=torch_mask(mask, B, H, Lq, Lk))[0].backward(upstream)
    for got, expected in zip(inputs, inputs_ref):
        torch.testing.assert_close(got.grad, expected.grad, **TOL[torch.float64])
    in_w = torch.cat([module.q_proj.weight.grad, module.k_proj.weight.grad, module.v_proj.weight.grad])
    in_b = torch.cat([module.q_proj.bias.grad, module.k_proj.bias.grad, module.v_proj.bias.grad])
    torch.testing.assert_close(in_w, theirs.in_proj_weight.grad, **TOL[torch.float64])
    torch.testing.assert_close(in_b, theirs.in_proj_bias.grad, **TOL[torch.float64])
    torch.testing.assert_close(module.out_proj.weight.grad, theirs.out_proj.weight.grad, **TOL[torch.float64])


@pytest.mark.parametrize("bias", [True, False])
def test_multihead_attention_gradcheck_with_fully_masked_rows(bias):
    B, Lq, Lk, E, H = 2, 3, 4, 4, 2
    module = build(E, H, bias, torch.float64, seed=40)
    names = list(module.state_dict())
    params = [p.detach().clone().requires_grad_(True) for p in module.state_dict().values()]
    inputs = [randn(B, L, E, seed=41 + i).requires_grad_(True) for i, L in enumerate((Lq, Lk, Lk))]
    mask = make_mask("fully_masked_rows", B, Lq, Lk, seed=44)

    def fn(q, k, v, *p):
        return multihead_attention(q, k, v, dict(zip(names, p)), H, mask)

    assert torch.autograd.gradcheck(fn, (*inputs, *params))


def test_function_equals_module_with_a_float64_state_dict():
    module = build(8, 4, True, torch.float32, seed=50)
    query, key, value = (randn(2, L, 8, seed=51 + i) for i, L in enumerate((3, 5, 5)))
    mask = make_mask("random", 2, 3, 5, seed=54)
    params = {n: p.double() for n, p in module.state_dict().items()}
    got = multihead_attention(query, key, value, params, 4, mask)
    expected = module.double()(query, key, value, mask)
    for a, b in zip(got, expected):
        assert torch.equal(a, b)


# -- construction and contract details -------------------------------------------

def test_constructor_submodules_and_parameters():
    for bias in (True, False):
        module = MultiHeadAttention(12, 3, bias=bias)
        children = dict(module.named_children())
        assert sorted(children) == ["k_proj", "out_proj", "q_proj", "v_proj"]
        for child in children.values():
            assert isinstance(child, torch.nn.Linear)
            assert (child.in_features, child.out_features) == (12, 12)
            assert (child.bias is not None) is bias
        expected = {f"{n}.{p}" for n in children for p in (("weight", "bias") if bias else ("weight",))}
        assert set(dict(module.named_parameters())) == expected


@pytest.mark.parametrize("E,H", [(10, 3), (7, 2)])
def test_constructor_rejects_indivisible_sizes(E, H):
    with pytest.raises(ValueError, match=f"embed_dim={E} is not divisible by num_heads={H}"):
        MultiHeadAttention(E, H)
    with pytest.raises(ValueError, match=f"embed_dim={E}"):
        multihead_attention(randn(1, 2, E, seed=0), randn(1, 2, E, seed=1), randn(1, 2, E, seed=2),
                            {}, H)


def test_inputs_unmodified():
    module = build(8, 2, True, torch.float64, seed=60)
    args = [randn(2, L, 8, seed=61 + i) for i, L in enumerate((3, 4, 4))]
    mask = make_mask("fully_masked_rows", 2, 3, 4, seed=64)
    before = [t.clone() for t in (*args, mask)]
    module(*args, mask)
    assert all(torch.equal(a, b) for a, b in zip((*args, mask), before))
