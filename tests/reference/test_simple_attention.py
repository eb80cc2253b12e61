"""attention_reference.simple_attention (NumPy) against torch in float64, plus its dtype and stability rules."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import attention_reference.simple_attention as module
from attention_reference.simple_attention import scaled_dot_product_attention, simple_attention


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def torch_simple(query, keys, values) -> np.ndarray:
    q, k, v = (torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in (query, keys, values))
    return (torch.softmax(k @ q, dim=0) @ v).numpy()


@pytest.mark.parametrize("n,d,dv", [(1, 1, 1), (4, 3, 2), (7, 5, 6)])
def test_simple_attention_matches_torch(n, d, dv):
    r = rng(n * 100 + d)
    query, keys, values = r.standard_normal(d), r.standard_normal((n, d)), r.standard_normal((n, dv))
    got = simple_attention(query, keys, values)
    assert got.shape == (dv,) and got.dtype == np.float64
    np.testing.assert_allclose(got, torch_simple(query, keys, values), rtol=1e-12, atol=1e-12)


def test_simple_attention_is_unscaled():
    """With d = 4 a 1/sqrt(d) scale would halve the scores and change the answer."""
    query = np.array([1.0, 1.0, 1.0, 1.0])
    keys = np.array([[1.0, 0, 0, 0], [0, 0, 0, 0]])
    values = np.array([[1.0], [0.0]])
    expected = math.e / (math.e + 1.0)
    np.testing.assert_allclose(simple_attention(query, keys, values), [expected], rtol=1e-15)


def test_simple_attention_integer_input_gives_float64():
    query = np.array([1, 0, 1])
    keys = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 1]])
    values = np.array([[1, 2], [3, 4], [5, 6]])
    got = simple_attention(query, keys, values)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, torch_simple(query, keys, values), rtol=1e-12)


def test_simple_attention_keeps_float32():
    r = rng(1)
    args = [r.standard_normal(s).astype(np.float32) for s in ((3,), (5, 3), (5, 2))]
    got = simple_attention(*args)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, torch_simple(*args), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simple_attention_large_scores_stay_finite(dtype):
    query = np.array([100.0, -100.0], dtype=dtype)
    keys = np.array([[100.0, 0.0], [0.0, 100.0], [99.0, 1.0]], dtype=dtype)  # scores 1e4, -1e4, 9800
    values = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]], dtype=dtype)
    got = simple_attention(query, keys, values)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, torch_simple(query, keys, values), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(got, [1.0, 0.0], rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
@pytest.mark.parametrize("lq,lk,d,dv", [(1, 1, 1, 1), (3, 4, 5, 2), (4, 2, 8, 3)])
def test_sdpa_matches_torch(batch, lq, lk, d, dv):
    r = rng(len(batch) * 1000 + lq * 100 + lk * 10 + d)
    query = r.standard_normal((*batch, lq, d))
    key = r.standard_normal((*batch, lk, d))
    value = r.standard_normal((*batch, lk, dv))
    output, weights = scaled_dot_product_attention(query, key, value)
    assert output.shape == (*batch, lq, dv) and weights.shape == (*batch, lq, lk)
    q, k, v = (torch.from_numpy(a) for a in (query, key, value))
    np.testing.assert_allclose(output, F.scaled_dot_product_attention(q, k, v).numpy(), rtol=1e-10, atol=1e-12)
    expected_weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1).numpy()
    np.testing.assert_allclose(weights, expected_weights, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(weights.sum(-1), np.ones((*batch, lq)), rtol=1e-12)


def test_sdpa_dtypes():
    r = rng(2)
    args32 = [r.standard_normal(s).astype(np.float32) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6))]
    output, weights = scaled_dot_product_attention(*args32)
    assert output.dtype == np.float32 and weights.dtype == np.float32
    expected = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in args32)).numpy()
    np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)
    ints = [np.arange(12).reshape(3, 4) % 3, np.arange(8).reshape(2, 4) % 2, np.arange(4).reshape(2, 2)]
    output, weights = scaled_dot_product_attention(*ints)
    assert output.dtype == np.float64 and weights.dtype == np.float64
    expected = F.scaled_dot_product_attention(*(torch.from_numpy(a.astype(np.float64)) for a in ints)).numpy()
    np.testing.assert_allclose(output, expected, rtol=1e-12)


def test_sdpa_large_scores_stay_finite():
    r = rng(3)
    query = r.standard_normal((2, 3, 4)) * 100
    key = r.standard_normal((2, 5, 4)) * 100
    value = r.standard_normal((2, 5, 2))
    output, weights = scaled_dot_product_attention(query, key, value)
    assert np.isfinite(output).all() and np.isfinite(weights).all()
    assert np.abs(query @ np.swapaxes(key, -1, -2)).max() > 1e4
    expected = F.scaled_dot_product_attention(*(torch.from_numpy(a) for a in (query, key, value))).numpy()
    np.testing.assert_allclose(output, expected, rtol=1e-9, atol=1e-12)


def test_inputs_unmodified():
    r = rng(4)
    args = [r.standard_normal(s) for s in ((2, 3), (4, 3), (4, 2))]
    before = [a.copy() for a in args]
    scaled_dot_product_attention(*args)
    simple_attention(args[0][0], args[1], args[2])
    assert all(np.array_equal(a, b) for a, b in zip(args, before))


def test_module_does_not_import_torch():
    tree = ast.parse(Path(module.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "numpy" in imported
    assert not imported & {"torch", "scipy"}, imported
