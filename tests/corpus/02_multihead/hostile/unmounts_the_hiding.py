# corpus: hostile
"""Hostile: as root in its own mount namespace, takes the grader's hiding mounts away
(umount2 on the tmpfs over the project), then looks for the reference, and tries to
lift its own resource limits, make a device node and load a kernel module's worth of
privilege.

The test fills in __ROOT__ (the project being graded) before grading it."""
import ctypes
import glob
import os
import resource

import torch

libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def attempts():
    done = []
    for _ in range(4):  # the hiding may be stacked; a detach takes the top one
        if libc.umount2(b"__ROOT__", MNT_DETACH) == 0:
            done.append("umount")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        done.append("rlimit")
    except (ValueError, OSError):
        pass
    if libc.unshare(0x00020000) == 0:  # a fresh mount namespace (needs CAP_SYS_ADMIN)
        done.append("unshare")
    if libc.mount(b"none", b"/", None, 0x4000 | 0x40000, None) == 0:
        done.append("mount")
    return done


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError("embed_dim must be divisible by num_heads")
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        done = attempts()
        found = glob.glob("__ROOT__/attention_reference/*.py")
        print("ESCAPED", done, "FOUND", found)
        B, Lq, _ = query.shape
        return torch.zeros_like(query), torch.zeros(B, 1, Lq, key.shape[1], dtype=query.dtype)
