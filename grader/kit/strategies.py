"""Hypothesis strategies and seeded input bundles for attention inputs (part of the check kit).

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

import contextlib
import functools
from dataclasses import dataclass

import torch
from hypothesis import strategies as st

from grader.kit import memo

MASK_KINDS = ("none", "causal", "padding", "random", "fully_masked_rows")
_DEVICE = ["cpu"]   # where the bundles put their tensors: the device the running check is on


def current_device() -> str:
    """The device the running check is on ("cpu" unless the grading runs it on CUDA too)."""
    return _DEVICE[-1]


@contextlib.contextmanager
def on_device(device: str):
    """Bundles, ``randn`` and ``make_mask`` give tensors on ``device`` inside (the grading plugin sets it
    per check). Values are drawn on the CPU first, so every device gets the very same inputs."""
    _DEVICE.append(str(device))
    try:
        yield
    finally:
        _DEVICE.pop()


def _place(value):
    device = current_device()
    if device == "cpu":
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if type(value) in (tuple, list):
        return type(value)(_place(v) for v in value)
    if type(value) is dict:
        return {k: _place(v) for k, v in value.items()}
    return value


def placed(make):
    """``make``'s tensors (alone, or in a tuple, list or dict) on :func:`current_device`."""
    @functools.wraps(make)
    def on_current(*args, **kwargs):
        return _place(make(*args, **kwargs))
    return on_current


def kept(make):
    """``make``'s results built once per process for each (arguments, device) and handed out as fresh
    copies (:mod:`grader.kit.memo`): a bundle's tensors are asked for several times per example, and
    every student of a class draws the same examples."""
    return memo.remembered(current_device)(make)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


@kept
@placed
def randn(shape, *, seed: int, dtype=torch.float64, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(tuple(shape), generator=generator(seed), dtype=torch.float64) * scale).to(dtype)


def dims(*, min_value: int = 1, max_value: int = 6) -> st.SearchStrategy[int]:
    if min_value < 0 or max_value < min_value:
        raise ValueError(f"dims: need 0 <= min_value <= max_value, got {min_value}, {max_value}")
    return st.integers(min_value, max_value)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


@contextlib.contextmanager
def seeded(seed: int):
    """Run torch's default initialisers (``nn.Linear(...)`` and the like) from ``seed``, without
    touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        # Only the CPU generator: torch.manual_seed also queues a seed for every lazy
        # accelerator backend, formatting a stack trace for each (milliseconds a call).
        torch.default_generator.manual_seed(seed)
        yield


@kept
@placed
def make_mask(kind: str, *, batch: int, lq: int, lk: int, seed: int) -> torch.Tensor | None:
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
    score_scale: float = 1.0  # the query projection is scaled by this: scores of order score_scale

    @property
    def embed_dim(self) -> int:
        return self.num_heads * self.head_dim

    @kept
    @placed
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
        mask = make_mask(self.mask_kind, batch=self.batch, lq=self.lq, lk=self.lk, seed=self.seed)
        return query, key, value, mask

    @kept
    @placed
    def state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        """Asymmetric seeded weights in the layout of the contract's submodules."""
        dtype = dtype or self.dtype
        E = self.embed_dim
        state = {}
        for i, name in enumerate(("q_proj", "k_proj", "v_proj", "out_proj")):
            scale = self.score_scale if name == "q_proj" else 1.0
            state[f"{name}.weight"] = randn((E, E), seed=self.seed + 100 + i, dtype=dtype, scale=scale * E ** -0.5)
            if self.bias:
                state[f"{name}.bias"] = randn((E,), seed=self.seed + 200 + i, dtype=dtype, scale=0.1 * scale)
        return state

    def __repr__(self) -> str:
        scaled = f", score_scale={self.score_scale:g}" if self.score_scale != 1.0 else ""
        return (f"MHAInputs(B={self.batch}, Lq={self.lq}, Lk={self.lk}, E={self.embed_dim}, "
                f"H={self.num_heads}, bias={self.bias}, mask={self.mask_kind!r}, "
                f"dtype={str(self.dtype).replace('torch.', '')}{scaled}, seed={self.seed})")


@st.composite
def mha_inputs(draw, *, dtypes=(torch.float64,), masks=("none",), cross: bool = True,
               max_batch: int = 3, max_len: int = 6, max_heads: int = 4, max_head_dim: int = 6,
               min_heads: int = 1, min_head_dim: int = 2, score_scales=(1.0,)) -> MHAInputs:
    """Draw sizes first, then a seed; tensors are built from the seed.

    ``score_scales``: the sizes of score to draw from (1 gives scores of order 1); the scale of
    each dtype's realistic large scores is a check's to choose.
    """
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
    bias, kind = draw(st.booleans()), draw(st.sampled_from(masks))
    if kind == "causal":
        lk = max(lk, lq)  # with fewer keys than queries the first rows would see no key: that is another kind
    return MHAInputs(
        batch=batch, lq=lq, lk=lk, num_heads=heads, head_dim=head_dim,
        bias=bias, mask_kind=kind, seed=draw(seeds()),
        dtype=draw(st.sampled_from(dtypes)), score_scale=float(draw(st.sampled_from(score_scales))),
    )


def rich_mha_inputs(kind: str, dtype: torch.dtype = torch.float64, score_scale: float = 1.0) -> MHAInputs:
    """A fixed input on which the known mistakes of multi-head attention all differ: two heads,
    Lq != Lk (except causal) and a mask of ``kind`` (padding becomes random: it may leave one key)."""
    kind = "random" if kind == "padding" else kind
    return MHAInputs(batch=2, lq=3, lk=4 if kind != "causal" else 3, num_heads=2, head_dim=3,
                     bias=True, mask_kind=kind, seed=11, dtype=dtype, score_scale=score_scale)


def padded_mha_inputs(dtype: torch.dtype = torch.float64) -> MHAInputs:
    """A fixed padded input whose three batch items have different lengths (2, 4 and 1 of 4 keys), with two
    heads: a mask that reaches the wrong batch item, or the wrong head, shows."""
    return MHAInputs(batch=3, lq=2, lk=4, num_heads=2, head_dim=3, bias=True, mask_kind="padding", seed=6,
                     dtype=dtype)


# -- 01_softmax ------------------------------------------------------------------

SOFTMAX_VALUES = ("normal", "moderate", "large", "neg_inf", "far")
SOFTMAX_MASKS = ("none", "full", "broadcast", "fully_masked")


@dataclass(frozen=True)
class SoftmaxInputs:
    """One softmax problem: a shape, the dim to normalise along, how values and mask are drawn.

    ``values``: ``normal`` (randn * 2); ``moderate`` (randn * 6 plus a per-slice offset in
    [-30, 30]: exp overflows float16 without a max); ``large`` (per-slice offsets up to 1e4 and
    spreads up to 3e3, so slices differ by up to 1e4); ``neg_inf`` (normal, some entries
    ``-inf``, the first slice all ``-inf``); ``far`` (randn * 3 plus a per-slice offset in
    [-2e3, -1e3]: every exp underflows, in float64 too, unless the slice's own max is taken).
    ``mask``: ``none``; ``full`` (x's shape, at least one True per slice); ``broadcast`` (size-1
    and missing leading dims); ``fully_masked`` (some slices all False). ``huge_masked`` puts 2e4
    at masked positions, ``neg_inf_masked`` puts ``-inf`` there.
    """

    shape: tuple[int, ...]
    dim: int
    values: str
    mask_kind: str
    seed: int
    dtype: torch.dtype = torch.float64
    huge_masked: bool = False
    neg_inf_masked: bool = False

    @kept
    @placed
    def tensors(self, dtype: torch.dtype | None = None):
        """(x, mask) with x in ``dtype`` (default: the bundle's); mask is None for ``none``."""
        dtype = dtype or self.dtype
        g = generator(self.seed)
        shape, d = self.shape, self.dim % len(self.shape)
        slice_shape = tuple(1 if i == d else n for i, n in enumerate(shape))   # one value per slice
        x = torch.randn(shape, generator=g, dtype=torch.float64)
        if self.values == "normal":
            x = x * 2.0
        elif self.values == "moderate":
            x = x * 6.0 + (torch.rand(slice_shape, generator=g, dtype=torch.float64) * 60 - 30)
        elif self.values == "large":
            spread = torch.where(torch.rand(slice_shape, generator=g) < 0.5, 3.0, 3e3).to(torch.float64)
            offset = (torch.rand(slice_shape, generator=g, dtype=torch.float64) * 2 - 1) * 7e3
            x = (x * spread).clamp(-3e3, 3e3) + offset                       # |x| <= 1e4
        elif self.values == "neg_inf":
            x = x * 2.0
            holes = torch.rand(shape, generator=g) < 0.3
            moved = holes.movedim(d, -1).contiguous()
            flat = moved.reshape(-1, moved.shape[-1])
            flat[1:, 0] = False                                              # later slices keep one entry
            flat[0] = True                                                   # the first slice is all -inf
            x = x.masked_fill(moved.movedim(-1, d), float("-inf"))
        elif self.values == "far":
            x = x * 3.0 - (torch.rand(slice_shape, generator=g, dtype=torch.float64) * 1e3 + 1e3)
        else:
            raise ValueError(f"SoftmaxInputs: values must be one of {SOFTMAX_VALUES}, got {self.values!r}")
        mask = self.mask()
        if mask is not None and (self.huge_masked or self.neg_inf_masked):
            fill = float("-inf") if self.neg_inf_masked else 2e4
            x = torch.where(torch.broadcast_to(mask, shape), x, torch.full_like(x, fill))
        return x.to(dtype), mask

    def mask(self) -> torch.Tensor | None:
        kind = self.mask_kind
        if kind == "none":
            return None
        if kind not in SOFTMAX_MASKS:
            raise ValueError(f"SoftmaxInputs: mask must be one of {SOFTMAX_MASKS}, got {kind!r}")
        g = generator(self.seed + 7919)
        d = self.dim % len(self.shape)
        mshape = list(self.shape)
        if kind == "broadcast":
            for i in range(len(mshape)):
                if i != d and bool(torch.rand((), generator=g) < 0.5):
                    mshape[i] = 1
        moved = (torch.rand(mshape, generator=g) < 0.6).movedim(d, -1).contiguous()
        flat = moved.reshape(-1, moved.shape[-1])
        first = torch.randint(0, moved.shape[-1], (flat.shape[0],), generator=g)
        flat[torch.arange(flat.shape[0]), first] = True                     # at least one True per slice
        if kind == "fully_masked":
            empty = torch.rand(flat.shape[0], generator=g) < 0.4
            empty[-1] = True                                                 # always at least one...
            if flat.shape[0] > 1:
                empty[0] = False                                             # ...and one real slice
            flat[empty] = False
        mask = moved.movedim(-1, d)
        if kind == "broadcast":
            lead = 0
            while lead < d and mask.shape[lead] == 1:
                lead += 1
            mask = mask.reshape(mask.shape[lead:])                           # drop leading size-1 dims
        return mask

    def __repr__(self) -> str:
        huge = ", huge_masked=True" if self.huge_masked else ""
        huge += ", neg_inf_masked=True" if self.neg_inf_masked else ""
        return (f"SoftmaxInputs(shape={self.shape}, dim={self.dim}, values={self.values!r}, "
                f"mask={self.mask_kind!r}{huge}, dtype={str(self.dtype).replace('torch.', '')}, seed={self.seed})")


@st.composite
def softmax_inputs(draw, *, dtypes=(torch.float64,), values=("normal",), masks=("none",),
                   min_rank: int = 1, max_rank: int = 4, max_size: int = 5, min_len: int = 2,
                   huge_masked: bool = False, neg_inf_masked: bool = False) -> SoftmaxInputs:
    """Draw the rank, the dim (negative or positive) and the sizes first, then a seed.

    The slice along ``dim`` has at least ``min_len`` entries (with one, every softmax is 1
    and most mistakes are invisible).
    """
    for name, given, allowed in (("values", values, SOFTMAX_VALUES), ("masks", masks, SOFTMAX_MASKS)):
        for kind in given:
            if kind not in allowed:
                raise ValueError(f"softmax_inputs: unknown {name} kind {kind!r}; choose from {allowed}")
    if not 1 <= min_rank <= max_rank:
        raise ValueError(f"softmax_inputs: need 1 <= min_rank <= max_rank, got {min_rank}, {max_rank}")
    rank = draw(st.integers(min_rank, max_rank))
    dim = draw(st.integers(-rank, rank - 1))
    shape = tuple(draw(dims(min_value=min_len if i == dim % rank else 1, max_value=max(max_size, min_len)))
                  for i in range(rank))
    return SoftmaxInputs(shape=shape, dim=dim, values=draw(st.sampled_from(values)),
                         mask_kind=draw(st.sampled_from(masks)), seed=draw(seeds()),
                         dtype=draw(st.sampled_from(dtypes)), huge_masked=huge_masked,
                         neg_inf_masked=neg_inf_masked)


# -- 00_simple_attention ------------------------------------------------------------

SCORE_KINDS = ("normal", "large", "spread", "moderate")


@dataclass(frozen=True)
class AttentionInputs:
    """One NumPy attention problem: query (*batch, Lq, d), key (*batch, Lk, d), value (*batch, Lk, dv).

    ``simple`` gives simple_attention's shapes instead: query (d,), keys (Lk, d), values (Lk, dv).
    ``scores``: ``normal`` (post-scale scores of order 1); ``large`` (|score| ~ 1e4);
    ``spread`` (each query row's scores of order 1 or 3e3 at random, so rows and batch
    items differ by thousands); ``moderate`` (scores of order 20: exp overflows float16 at 11). ``dtype`` is a NumPy dtype name; integer dtypes give small
    integers.
    """

    batch: tuple[int, ...]
    lq: int
    lk: int
    d: int
    dv: int
    scores: str
    seed: int
    dtype: str = "float64"
    simple: bool = False

    @kept
    def arrays(self, dtype: str | None = None):
        """(query, key, value) as NumPy arrays in ``dtype`` (default: the bundle's)."""
        import numpy as np

        dtype = np.dtype(dtype or self.dtype)
        g = generator(self.seed)
        q = torch.randn(self.batch + (self.lq, self.d), generator=g, dtype=torch.float64)
        k = torch.randn(self.batch + (self.lk, self.d), generator=g, dtype=torch.float64)
        v = torch.randn(self.batch + (self.lk, self.dv), generator=g, dtype=torch.float64)
        # Scores q.k have standard deviation sqrt(d): sdpa divides by sqrt(d), simple does not.
        unit = self.d ** -0.5 if self.simple else 1.0
        if np.issubdtype(dtype, np.integer):
            q, k, v = (torch.round(t * 1.5).clamp(-3, 3) for t in (q, k, v))   # small integers
        elif self.scores == "large":
            q = q * (1e4 * unit)
        elif self.scores == "spread":
            rows = torch.where(torch.rand(self.batch + (self.lq, 1), generator=g) < 0.5, 1.0, 3e3)
            q = q * rows.to(torch.float64) * unit
        elif self.scores == "normal":
            q = q * (1.5 * unit)
        elif self.scores == "moderate":
            q = q * (20.0 * unit)
        else:
            raise ValueError(f"AttentionInputs: scores must be one of {SCORE_KINDS}, got {self.scores!r}")
        arrays = [t.numpy().astype(dtype) for t in (q, k, v)]
        if self.simple:
            arrays[0] = arrays[0].reshape(self.d)
        return tuple(arrays)

    def __repr__(self) -> str:
        if self.simple:
            return (f"AttentionInputs(simple, n={self.lk}, d={self.d}, dv={self.dv}, scores={self.scores!r}, "
                    f"dtype={self.dtype}, seed={self.seed})")
        return (f"AttentionInputs(batch={self.batch}, Lq={self.lq}, Lk={self.lk}, d={self.d}, dv={self.dv}, "
                f"scores={self.scores!r}, dtype={self.dtype}, seed={self.seed})")


@st.composite
def attention_inputs(draw, *, simple: bool = False, batch_dims=(0, 1, 2), dtypes=("float64",),
                     scores=("normal",), max_len: int = 5, min_dim: int = 2, max_dim: int = 6,
                     square: bool = False) -> AttentionInputs:
    """Draw batch dims, lengths and sizes first, then a seed.

    ``square``: every batch size, Lk and d equal (so ``key.T`` on a batch gives wrong
    numbers instead of a shape error). ``d >= min_dim`` (default 2) keeps 1/d, 1/sqrt(d)
    and no scale apart.
    """
    for kind in scores:
        if kind not in SCORE_KINDS:
            raise ValueError(f"attention_inputs: unknown scores kind {kind!r}; choose from {SCORE_KINDS}")
    if simple:
        ndim = 0
    else:
        ndim = draw(st.sampled_from(tuple(batch_dims)))
    if square:
        n = draw(dims(min_value=2, max_value=max(max_len, 2)))
        batch, lk, d = (n,) * ndim, n, n
        lq = draw(dims(max_value=max_len))
    else:
        batch = tuple(draw(dims(max_value=3)) for _ in range(ndim))
        lq = 1 if simple else draw(dims(max_value=max_len))
        lk = draw(dims(min_value=2, max_value=max(max_len, 2)))
        d = draw(dims(min_value=min_dim, max_value=max_dim))
    dv = draw(dims(max_value=max_dim))
    return AttentionInputs(batch=batch, lq=lq, lk=lk, d=d, dv=dv, scores=draw(st.sampled_from(scores)),
                           seed=draw(seeds()), dtype=draw(st.sampled_from(tuple(dtypes))), simple=simple)


# -- 03_encoder_decoder: additive attention ------------------------------------------

ADDITIVE_MASKS = ("none", "padding", "empty_rows")


@dataclass(frozen=True)
class AdditiveInputs:
    """One additive-attention problem: sizes, a seed, and whether (and how) to mask."""

    batch: int
    length: int
    query_dim: int
    key_dim: int
    value_dim: int
    hidden_dim: int
    mask_kind: str  # "none", "padding" (>= 1 real position per row), "empty_rows"
    seed: int
    dtype: torch.dtype = torch.float64
    score_scale: float = 1.0  # the score projection is scaled by this: scores of order score_scale

    @kept
    @placed
    def tensors(self, dtype: torch.dtype | None = None):
        dtype = dtype or self.dtype
        query = randn((self.batch, self.query_dim), seed=self.seed, dtype=dtype)
        keys = randn((self.batch, self.length, self.key_dim), seed=self.seed + 1, dtype=dtype)
        values = randn((self.batch, self.length, self.value_dim), seed=self.seed + 2, dtype=dtype)
        mask = None
        if self.mask_kind != "none":
            g = torch.Generator().manual_seed(self.seed + 3)
            lengths = torch.randint(1, self.length + 1, (self.batch,), generator=g)
            mask = torch.arange(self.length)[None, :] < lengths[:, None]   # (B, L)
            if self.mask_kind == "empty_rows":
                mask[0] = False                                               # a row with no real position
        return query, keys, values, mask

    @kept
    @placed
    def state_dict(self, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
        dtype = dtype or self.dtype
        return {
            "query_proj.weight": randn((self.hidden_dim, self.query_dim), seed=self.seed + 10, dtype=dtype,
                                       scale=self.query_dim ** -0.5),
            "key_proj.weight": randn((self.hidden_dim, self.key_dim), seed=self.seed + 11, dtype=dtype,
                                     scale=self.key_dim ** -0.5),
            "score.weight": randn((1, self.hidden_dim), seed=self.seed + 12, dtype=dtype,
                                  scale=2 * self.score_scale * self.hidden_dim ** -0.5),
        }

    def __repr__(self) -> str:
        scaled = f", score_scale={self.score_scale:g}" if self.score_scale != 1.0 else ""
        return (f"AdditiveInputs(B={self.batch}, L={self.length}, Dq={self.query_dim}, Dk={self.key_dim}, "
                f"Dv={self.value_dim}, hidden={self.hidden_dim}, mask={self.mask_kind!r}, "
                f"dtype={str(self.dtype).replace('torch.', '')}{scaled}, seed={self.seed})")


@st.composite
def additive_inputs(draw, *, dtypes=(torch.float64,), masks=("none",), score_scales=(1.0,),
                    min_length: int = 1) -> AdditiveInputs:
    for kind in masks:
        if kind not in ADDITIVE_MASKS:
            raise ValueError(f"additive_inputs: unknown mask kind {kind!r}; choose from {ADDITIVE_MASKS}")
    return AdditiveInputs(
        batch=draw(dims(min_value=2, max_value=4)), length=draw(dims(min_value=min_length, max_value=6)),
        query_dim=draw(dims(max_value=5)), key_dim=draw(dims(max_value=5)), value_dim=draw(dims(max_value=5)),
        hidden_dim=draw(dims(min_value=2, max_value=6)), mask_kind=draw(st.sampled_from(masks)),
        seed=draw(seeds()), dtype=draw(st.sampled_from(dtypes)),
        score_scale=float(draw(st.sampled_from(score_scales))))


def rich_additive_inputs(kind: str, dtype: torch.dtype = torch.float64, score_scale: float = 1.0) -> AdditiveInputs:
    """A fixed input on which the known mistakes of additive attention differ: three rows of four positions
    with lengths 3, 2 and 4 (with ``empty_rows`` the first has none)."""
    return AdditiveInputs(batch=3, length=4, query_dim=3, key_dim=4, value_dim=2, hidden_dim=5, mask_kind=kind,
                          seed=3, dtype=dtype, score_scale=score_scale)


# -- 03_encoder_decoder: the sequence-to-sequence model ---------------------------------

@dataclass(frozen=True)
class Seq2SeqInputs:
    """One model and one batch: sizes, lengths and a seed for the tokens and the weights."""

    batch: int
    src_len: int
    tgt_len: int
    src_vocab: int
    tgt_vocab: int
    embed_dim: int
    hidden_dim: int
    attention_dim: int
    seed: int

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.src_vocab, self.tgt_vocab, self.embed_dim, self.hidden_dim, self.attention_dim

    @kept
    @placed
    def tensors(self, padding: str = "zeros"):
        """src (B, S), src_mask (B, S), tgt_in (B, T); ``padding`` says which tokens sit at padding."""
        g = generator(self.seed)
        lengths = torch.randint(1, self.src_len + 1, (self.batch,), generator=g)
        lengths[0] = self.src_len                                        # one full row, one padded at most
        src = torch.randint(0, self.src_vocab, (self.batch, self.src_len), generator=g)
        mask = torch.arange(self.src_len)[None, :] < lengths[:, None]   # (B, S), real tokens first
        if padding == "zeros":
            src = src.masked_fill(~mask, 0)
        else:  # any other tokens: padding must not matter
            other = torch.randint(0, self.src_vocab, src.shape, generator=generator(self.seed + 1))
            src = torch.where(mask, src, other)
        tgt_in = torch.randint(0, self.tgt_vocab, (self.batch, self.tgt_len), generator=g)
        return src, mask, tgt_in

    def __repr__(self) -> str:
        return (f"Seq2SeqInputs(B={self.batch}, S={self.src_len}, T={self.tgt_len}, "
                f"src_vocab={self.src_vocab}, tgt_vocab={self.tgt_vocab}, embed={self.embed_dim}, "
                f"hidden={self.hidden_dim}, attention={self.attention_dim}, seed={self.seed})")


@st.composite
def seq2seq_inputs(draw) -> Seq2SeqInputs:
    return Seq2SeqInputs(
        batch=draw(dims(min_value=2, max_value=3)), src_len=draw(dims(min_value=1, max_value=5)),
        tgt_len=draw(dims(min_value=1, max_value=4)), src_vocab=draw(dims(min_value=2, max_value=7)),
        tgt_vocab=draw(dims(min_value=2, max_value=7)), embed_dim=draw(dims(min_value=1, max_value=4)),
        hidden_dim=draw(dims(min_value=1, max_value=5)), attention_dim=draw(dims(min_value=1, max_value=4)),
        seed=draw(seeds()))
