# corpus: hostile
"""Hostile: tries the ways out that need system calls rather than Python: running a
program (a shell to cat the reference), connecting to a Unix socket the grader's
machine offers (as /var/run/docker.sock would be), and forking a helper.

The test fills in __SOCKET__ (a listening Unix socket) before grading it."""
import os
import socket
import subprocess

import torch


def attempts():
    done = []
    try:
        subprocess.run(["/bin/sh", "-c", "echo ran"], capture_output=True, timeout=5)
        done.append("program")
    except OSError:
        pass
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect("__SOCKET__")
            done.append("unix socket")
    except OSError:
        pass
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        done.append("fork")
    except OSError:
        pass
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
        print("ESCAPED", attempts())
        B, Lq, _ = query.shape
        return torch.zeros_like(query), torch.zeros(B, 1, Lq, key.shape[1], dtype=query.dtype)
