"""Hypothesis strategies for attention inputs.

Each bundle draws its dimensions first, then a seed, and builds the tensors from
a seeded ``torch.Generator``: Hypothesis shrinks dimensions and seeds (cheap and
readable) instead of thousands of floats, and the bundle's ``repr`` is short
enough to print as the failing example.

Inputs are chosen to be informative: standard-normal activations and weights
scaled by ``1/sqrt(fan_in)``, so post-scale scores are of order 1 (a missing
``1/sqrt(d_k)`` then changes the answer by far more than any tolerance), with
asymmetric weights, ``Lq != Lk`` and size-1 dimensions allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st

MASK_KINDS = ("none", "causal", "padding", "random", "fully_masked_rows")


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def randn(shape, *, seed: int, dtype=torch.float64, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(tuple(shape), generator=generator(seed), dtype=torch.float64) * scale).to(dtype)


def dims(*, min_value: int = 1, max_value: int = 6) -> st.SearchStrategy[int]:
    if min_value < 0 or max_value < min_value:
        raise ValueError(f"dims: need 0 <= min_value <= max_value, got {min_value}, {max_value}")
    return st.integers(min_value, max_value)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


def make_mask(kind: str, *, batch: int, heads: int | None, lq: int, lk: int, seed: int) -> torch.Tensor | None:
    """A boolean mask, True = may attend, in the shape a user would pass for ``kind``.

    ``causal`` (Lq, Lk); ``padding`` (B, 1, 1, Lk) with at least one real key per row;
    ``random`` (B, 1, Lq, Lk) with at least one allowed key per row;
    ``fully_masked_rows`` like random, with some query rows entirely False.
    """
    g = generator(seed + 7919)
    if kind == "none":
        return None
    if kind == "causal":
        return torch.ones(lq, lk, dtype=torch.bool).tril(diagonal=lk - lq)
    if kind == "padding":
        lengths = torch.randint(1, lk + 1, (batch,), generator=g)
        keep = torch.arange(lk)[None, :] < lengths[:, None]            # (B, Lk)
        return keep[:, None, None, :]                                    # (B, 1, 1, Lk)
    if kind in ("random", "fully_masked_rows"):
        mask = torch.rand(batch, 1, lq, lk, generator=g) < 0.6
        first = torch.randint(0, lk, (batch, 1, lq, 1), generator=g)
        mask.scatter_(-1, first, True)                                   # at least one key per row
        if kind == "fully_masked_rows":
            rows = torch.rand(batch, 1, lq, 1, generator=g) < 0.4
            rows[..., 0, :] = True                                       # always at least one
            mask = mask & ~rows
        return mask
    raise ValueError(f"make_mask: kind must be one of {MASK_KINDS}, got {kind!r}")


@dataclass(frozen=True)
class MHAInputs:
    """One multi-head attention problem: sizes, seeded tensors, weights and mask."""

    batch: int
    lq: int
    lk: int
    num_heads: int
    head_dim: int
    bias: bool
    mask_kind: str
    seed: int
    dtype: torch.dtype = torch.float64

    @property
    def embed_dim(self) -> int:
        return self.num_heads * self.head_dim

    def tensors(self, dtype: torch.dtype | None = None):
        """(query, key, value, mask) in ``dtype`` (default: the bundle's)."""
        dtype = dtype or self.dtype
        E = self.embed_dim
        query = randn((self.batch, self.lq, E), seed=self.seed, dtype=dtype)
        if self.lq == self.lk and self.mask_kind == "causal" and self.seed % 2 == 0:
            key = value = query  # self-attention
        else:
            key = randn((self.batch, self.lk, E), seed=self.seed + 1, dtype=dtype)
            value = randn((self.batch, self.lk, E), seed=self.seed + 2, dtype=dtype)
        mask = make_mask(self.mask_kind, batch=self.batch, heads=self.num_heads, lq=self.lq, lk=self.lk,
                         seed=self.seed)
        return query, key, value, mask

    def state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """Asymmetric seeded weights in the layout of the contract's submodules."""
        dtype = dtype or self.dtype
        E = self.embed_dim
        state = {}
        for i, name in enumerate(("q_proj", "k_proj", "v_proj", "out_proj")):
            state[f"{name}.weight"] = randn((E, E), seed=self.seed + 100 + i, dtype=dtype, scale=E ** -0.5)
            if self.bias:
                state[f"{name}.bias"] = randn((E,), seed=self.seed + 200 + i, dtype=dtype, scale=0.1)
        return state

    def __repr__(self) -> str:
        return (f"MHAInputs(B={self.batch}, Lq={self.lq}, Lk={self.lk}, E={self.embed_dim}, "
                f"H={self.num_heads}, bias={self.bias}, mask={self.mask_kind!r}, "
                f"dtype={str(self.dtype).replace('torch.', '')}, seed={self.seed})")


@st.composite
def mha_inputs(draw, *, dtypes=(torch.float64,), masks=("none",), cross: bool = True,
               max_batch: int = 3, max_len: int = 6, max_heads: int = 4, max_head_dim: int = 6,
               min_heads: int = 1, min_head_dim: int = 2) -> MHAInputs:
    """Draw sizes first, then a seed; tensors are built from the seed."""
    for kind in masks:
        if kind not in MASK_KINDS:
            raise ValueError(f"mha_inputs: unknown mask kind {kind!r}; choose from {MASK_KINDS}")
    batch = draw(dims(max_value=max_batch))
    lq = draw(dims(max_value=max_len))
    lk = draw(dims(max_value=max_len)) if cross else lq
    if "causal" in masks and len(masks) == 1:
        lk = lq if not cross else max(lk, lq)
    heads = draw(dims(min_value=min_heads, max_value=max_heads))
    head_dim = draw(dims(min_value=min_head_dim, max_value=max_head_dim))
    return MHAInputs(
        batch=batch, lq=lq, lk=lk, num_heads=heads, head_dim=head_dim,
        bias=draw(st.booleans()), mask_kind=draw(st.sampled_from(masks)), seed=draw(seeds()),
        dtype=draw(st.sampled_from(dtypes)),
    )
