# corpus: hostile
"""Hostile: writes its own replies to the grader's channel instead of returning. With
__MODE__ = "alias", one reply whose 384 tensors all name the same 8 MiB slice (3 GiB once
decoded by a decoder without a budget); with "header", a reply that decodes but whose
header fields have the wrong types, so that a check would break on them and read as a
grader bug.

The test fills in __MODE__."""
import json
import os
import stat
import struct
import time

import torch

MODE = "__MODE__"


def _channel():
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                return fd
        except OSError:
            continue
    return None


def _forged():
    if MODE == "alias":
        size = 8 << 20
        node = {"t": "tensor", "dtype": "uint8", "shape": [size], "device": "cpu", "requires_grad": False,
                "off": 0, "len": size}
        header = {"status": "ok", "banned": [], "values": {"result": {"t": "tuple", "items": [node] * 384}}}
        payload = bytes(size)
    else:
        header = {"status": "ok", "banned": "Tensor.softmax", "graph": "yes", "aten_ops": [1], "obj": [2],
                  "values": {"result": {"t": "int", "v": 1}, "input_grads": {"t": "list", "items": []}}}
        payload = b""
    head = json.dumps(header).encode()
    body = struct.pack(">I", len(head)) + head + payload
    return struct.pack("!i", len(body)) + body   # multiprocessing's framing: a 4-byte length


class MultiHeadAttention(torch.nn.Module):
    def __init__(self, embed_dim, num_heads, bias=True):
        super().__init__()
        self.q_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.k_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.v_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)
        self.out_proj = torch.nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, query, key, value, mask=None):
        fd = _channel()
        if fd is not None:
            data = _forged()
            while data:
                data = data[os.write(fd, data):]
            time.sleep(30)   # the forged reply is the one the grader reads
        return torch.zeros_like(query), torch.zeros(query.shape[0], 1, query.shape[1], key.shape[1])
