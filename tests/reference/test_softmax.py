"""attention_reference.softmax against torch.softmax: values, dtypes, -inf, masks, large inputs, gradients."""

from __future__ import annotations

import pytest
import torch

from attention_reference.softmax import masked_softmax, softmax

SHAPES_DIMS = [((5,), 0), ((3, 7), -1), ((3, 7), 0), ((2, 3, 4), 1), ((2, 1, 5, 3), -2), ((2, 3, 1, 4), 3)]
TOL = {torch.float16: dict(atol=2e-3, rtol=2e-3), torch.bfloat16: dict(atol=1e-2, rtol=1.6e-2),
       torch.float32: dict(atol=1e-6, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-12)}


def randn(*shape, seed: int, dtype=torch.float64, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64) * scale).to(dtype)


def random_mask(shape, *, seed: int, fully_masked_dim: int | None = None) -> torch.Tensor:
    """About 60% True; with ``fully_masked_dim``, the first slice along it is kept, one other is emptied."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.rand(shape, generator=g) < 0.6
    if fully_masked_dim is not None:
        mask = mask.movedim(fully_masked_dim, -1).clone()
        flat = mask.reshape(-1, mask.shape[-1])
        flat[:, 0] = True                                  # every slice has a real entry...
        flat[-1] = False                                   # ...except the last, which is fully masked
        mask = flat.reshape(mask.shape).movedim(-1, fully_masked_dim)
    return mask


def fully_masked_slices(mask: torch.Tensor, dim: int) -> torch.Tensor:
    return ~mask.any(dim=dim, keepdim=True)


# -- softmax ------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
def test_softmax_matches_torch(shape, dim, dtype):
    x = randn(*shape, seed=sum(shape) + dim, dtype=dtype, scale=3.0)
    got = softmax(x, dim=dim)
    assert got.dtype == dtype and got.shape == x.shape
    torch.testing.assert_close(got, torch.softmax(x, dim=dim), **TOL[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_softmax_large_values_stay_finite(dtype):
    x = randn(4, 9, seed=1, dtype=dtype, scale=1e4)
    x[0] = torch.tensor([1e4, -1e4, 9999.0, 0, 0, 0, 0, 0, 0], dtype=dtype)
    got = softmax(x)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, torch.softmax(x, dim=-1), **TOL[dtype])
    torch.testing.assert_close(got.sum(-1), torch.ones(4, dtype=dtype), **TOL[dtype])


def test_softmax_minus_inf_entries_get_exactly_zero():
    x = randn(3, 6, seed=2)
    x[0, 1] = x[1, 0] = x[1, 5] = float("-inf")
    got = softmax(x)
    assert got[0, 1] == 0 and got[1, 0] == 0 and got[1, 5] == 0
    torch.testing.assert_close(got, torch.softmax(x, dim=-1))


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_softmax_all_minus_inf_row_is_zero_with_finite_grads(dtype):
    x = randn(3, 4, seed=3, dtype=dtype)
    x[1] = float("-inf")
    x.requires_grad_(True)
    got = softmax(x)
    assert torch.equal(got[1], torch.zeros(4, dtype=dtype))
    torch.testing.assert_close(got[[0, 2]], torch.softmax(x.detach()[[0, 2]], dim=-1), **TOL[dtype])
    got.backward(randn(3, 4, seed=4, dtype=dtype))
    assert torch.isfinite(x.grad).all()
    assert torch.equal(x.grad[1], torch.zeros(4, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS[1:4])
def test_softmax_grads_match_torch(shape, dim, dtype):
    x = randn(*shape, seed=5, dtype=dtype).requires_grad_(True)
    x_ref = x.detach().clone().requires_grad_(True)
    upstream = randn(*shape, seed=6, dtype=dtype)
    softmax(x, dim=dim).backward(upstream)
    torch.softmax(x_ref, dim=dim).backward(upstream)
    torch.testing.assert_close(x.grad, x_ref.grad, **TOL[dtype])


@pytest.mark.parametrize("shape,dim", [((6,), 0), ((3, 5), 0), ((2, 3, 4), -1)])
def test_softmax_gradcheck(shape, dim):
    x = randn(*shape, seed=7).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: softmax(t, dim=dim), (x,))


def test_softmax_leaves_input_unmodified():
    x = randn(3, 4, seed=8)
    before = x.clone()
    softmax(x)
    assert torch.equal(x, before)


# -- masked_softmax -----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("shape,dim", SHAPES_DIMS[1:])
def test_masked_softmax_matches_torch_on_rows_with_real_entries(shape, dim, dtype):
    x = randn(*shape, seed=10 + len(shape), dtype=dtype, scale=2.0)
    mask = random_mask(shape, seed=11, fully_masked_dim=dim)
    got = masked_softmax(x, mask, dim=dim)
    assert got.dtype == dtype and got.shape == x.shape
    empty = fully_masked_slices(mask, dim).expand_as(mask)
    assert empty.any() and (~empty).any()
    assert torch.equal(got[empty], torch.zeros_like(got[empty]))
    assert torch.equal(got[~mask], torch.zeros_like(got[~mask]))
    expected = torch.softmax(x.masked_fill(~mask, float("-inf")), dim=dim)
    torch.testing.assert_close(got[~empty], expected[~empty], **TOL[dtype])


@pytest.mark.parametrize("mask_shape", [(1, 5), (3, 1), (5,), (1, 1)])
def test_masked_softmax_broadcasts_the_mask(mask_shape):
    x = randn(3, 5, seed=12)
    mask = random_mask(mask_shape, seed=13)
    mask.view(-1)[0] = True
    full = torch.broadcast_to(mask, x.shape)
    got = masked_softmax(x, mask)
    assert got.shape == x.shape
    expected = torch.softmax(x.masked_fill(~full, float("-inf")), dim=-1)
    rows = full.any(-1)
    torch.testing.assert_close(got[rows], expected[rows])
    assert torch.equal(got[~rows], torch.zeros_like(got[~rows]))


def test_masked_softmax_large_values_and_minus_inf():
    x = randn(4, 6, seed=14, dtype=torch.float32, scale=1e4)
    x[0, 2] = float("-inf")
    mask = random_mask((4, 6), seed=15, fully_masked_dim=-1)
    got = masked_softmax(x, mask)
    assert torch.isfinite(got).all()
    assert got[0, 2] == 0
    expected = torch.softmax(x.masked_fill(~mask, float("-inf")), dim=-1)
    rows = mask.any(-1)
    torch.testing.assert_close(got[rows], expected[rows])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_masked_softmax_grads_match_torch_and_are_zero_on_fully_masked_rows(dtype):
    x = randn(2, 5, 4, seed=16, dtype=dtype).requires_grad_(True)
    mask = random_mask((2, 5, 4), seed=17, fully_masked_dim=-1)
    upstream = randn(2, 5, 4, seed=18, dtype=dtype)
    masked_softmax(x, mask).backward(upstream)
    assert torch.isfinite(x.grad).all()
    rows = mask.any(-1)
    x_ref = x.detach()[rows].clone().requires_grad_(True)
    torch.softmax(x_ref.masked_fill(~mask[rows], float("-inf")), dim=-1).backward(upstream[rows])
    torch.testing.assert_close(x.grad[rows], x_ref.grad, **TOL[dtype])
    assert torch.equal(x.grad[~rows], torch.zeros_like(x.grad[~rows]))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_masked_softmax_low_precision_fully_masked_grads_are_finite(dtype):
    x = randn(3, 4, seed=19, dtype=dtype, scale=100.0).requires_grad_(True)
    mask = random_mask((3, 4), seed=20, fully_masked_dim=-1)
    got = masked_softmax(x, mask)
    got.backward(torch.ones_like(got))
    assert not mask[-1].any() and torch.equal(got[-1], torch.zeros(4, dtype=dtype))
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_masked_softmax_gradcheck_with_fully_masked_slices(dim):
    x = randn(3, 4, 5, seed=21).requires_grad_(True)
    mask = random_mask((3, 4, 5), seed=22, fully_masked_dim=dim)
    assert fully_masked_slices(mask, dim).any()
    assert torch.autograd.gradcheck(lambda t: masked_softmax(t, mask, dim=dim), (x,))


def test_masked_softmax_rejects_a_non_boolean_mask():
    with pytest.raises(TypeError, match="dtype=torch.int64"):
        masked_softmax(randn(2, 3, seed=23), torch.ones(2, 3, dtype=torch.int64))


def test_masked_softmax_leaves_inputs_unmodified():
    x = randn(3, 4, seed=24)
    mask = random_mask((3, 4), seed=25, fully_masked_dim=-1)
    x_before, mask_before = x.clone(), mask.clone()
    masked_softmax(x, mask)
    assert torch.equal(x, x_before) and torch.equal(mask, mask_before)
