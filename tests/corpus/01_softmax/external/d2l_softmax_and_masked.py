# corpus: buggy
# fails: test_masked_softmax_inputs_unmodified test_softmax_matches_reference test_fully_masked_slices
# diagnosis: along the last dimension | Without subtracting the max first
# source: https://github.com/d2l-ai/d2l-en/blob/3148d3c353beb4d179a3bd8dc4f7f4492bf7cf47/chapter_linear-classification/softmax-regression-scratch.md
# source: (softmax, PyTorch tab) and https://github.com/d2l-ai/d2l-en/blob/003f46d8d6bbe6311a235ca107b93f1b4e897953/chapter_attention-mechanisms-and-transformers/attention-scoring-functions.md
# source: (masked_softmax, PyTorch tab), Dive into Deep Learning (d2l.ai)
# commit: 3148d3c353beb4d179a3bd8dc4f7f4492bf7cf47 (softmax), 003f46d8d6bbe6311a235ca107b93f1b4e897953 (masked_softmax)
# licence: code MIT-0 (d2l-en's code licence; text CC BY-SA 4.0)
# adapted: re-expressed, not copied. The book's masked_softmax takes valid lengths and builds its mask with
# adapted: arange < valid_len; here the contract's boolean mask (broadcast to x) is that mask, and the rest is kept:
# adapted: masked entries of the reshaped scores set to -1e6 in place, then nn.functional.softmax over the last axis.
# adapted: softmax is the book's from-scratch softmax; both ignore dim beyond what the book does (it has no dim).
# bug: masked_softmax calls torch.nn.functional.softmax (banned) and writes -1e6 into x in place (the reshape is a
# bug: view of the caller's tensor); fully masked slices get uniform weights; softmax sums over dim 1 whatever dim is,
# bug: and does not subtract the max.
# expected-diagnosis: a banned call (nn.functional.softmax); the input is modified in place; softmax ignores dim and
# expected-diagnosis: does not subtract the max; fully masked slices get uniform weights (the -1e6 fill)
# names: not allow | banned; in place; not along dim | along the last dimension | dimension 1 whatever dim is; subtracting the max; uniform
"""Dive into Deep Learning's softmax (from scratch) and masked softmax, fitted to the 01 contract."""
import torch
from torch import nn


def softmax(x, dim=-1):
    x_exp = torch.exp(x)
    partition = x_exp.sum(1, keepdims=True)
    return x_exp / partition


def masked_softmax(x, mask, dim=-1):
    shape = x.shape
    flat = x.reshape(-1, shape[-1])
    flat[~torch.broadcast_to(mask, shape).reshape(-1, shape[-1])] = -1e6
    return nn.functional.softmax(flat.reshape(shape), dim=-1)
