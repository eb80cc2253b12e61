"""The wire format between the grader and a sandboxed child: JSON plus raw bytes.

A message is one byte string::

    [4 bytes: header length, big-endian] [header: UTF-8 JSON] [payload: raw buffers]

Values in the header are small tagged trees. Tensors and arrays are described by
dtype, shape and an (offset, length) slice of the payload, and rebuilt from the
raw bytes. Nothing is ever unpickled: ``decode`` accepts only the tags below,
a fixed list of dtypes and consistent sizes, so whatever a child sends is at
worst a wrong answer, never code.

Tags: ``none``, ``bool``, ``int``, ``float``, ``str``, ``tensor``, ``ndarray``,
``tuple``, ``list``, ``dict`` (string keys), and ``other`` for anything else
(its type name and a short repr, decoded as :class:`Opaque`).

This module is imported by the child too, so it imports only numpy and torch.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# The isolation levels a child reports in its hello header, weakest first (SECURITY.md).
LEVEL_RLIMITS = "rlimits"
LEVEL_NAMESPACES = "namespaces"
LEVELS = (LEVEL_RLIMITS, LEVEL_NAMESPACES)
NOBODY = 65534                 # a root grader's child at the namespaces level runs as this uid outside
CHILD_UID_BASE = 0x5F000000    # a root grader's child at the rlimits level: this + its pid (no account's)

MAX_HEADER_BYTES = 4 << 20
MAX_MESSAGE_BYTES = 256 << 20  # a whole reply: header and payload
MAX_ELEMENTS = 1 << 25         # tensor and array elements in one message (all of them together)
MAX_NODES = 100_000            # values of any kind in one message
MAX_DIM = 1 << 31
MAX_DEPTH = 8
MAX_ITEMS = 4096
REPR_CHARS = 200
ALIGN = 64                     # buffers start at multiples of this in the payload

# Control characters but newline and tab, and the bidirectional overrides: made visible.
_INVISIBLE = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}
_INVISIBLE.update({c: f"\\u{c:04x}" for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_INVISIBLE.update({c: "\ufffd" for c in range(0xD800, 0xE000)})   # a lone surrogate (no str holds a pair)


def clean_text(text: str) -> str:
    """``text`` made safe to print and write: lone surrogates become U+FFFD, control characters
    other than newline and tab (escape sequences, carriage returns) and bidirectional overrides
    are shown as escapes. Every string from the child passes through here when decoded."""
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_INVISIBLE)


def clean_tree(value: Any) -> Any:
    """Every string in a JSON tree (keys too) cleaned with :func:`clean_text`."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_tree(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_tree(v) for k, v in value.items()}
    return value

TORCH_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
TORCH_DTYPE_NAMES = {v: k for k, v in TORCH_DTYPES.items()}
_NUMPY_BYTES = frozenset(TORCH_DTYPE_NAMES.values()) - {"bfloat16"}   # NumPy holds these bit for bit
NUMPY_DTYPES = {
    name: np.dtype(name)
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
                 "uint8", "uint16", "uint32", "uint64", "bool")
}


class WireError(ValueError):
    """A message that does not follow the format (from a broken or lying child)."""


@dataclass(frozen=True)
class Opaque:
    """Stands for a value that is not plain data: only its type name and repr cross."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def safe_repr(value: Any) -> str:
    try:
        text = object.__repr__(value) if _dangerous_repr(value) else repr(value)
    except Exception:  # a repr that raises is just shown as such
        text = f"<unprintable {type(value).__name__}>"
    return text[:REPR_CHARS]


def _dangerous_repr(value: Any) -> bool:
    # A user-defined __repr__ could do anything; only the child runs it, but keep
    # the text short and never recurse into huge containers.
    return isinstance(value, (list, tuple, dict)) and len(value) > 16


def type_name(value: Any) -> str:
    t = type(value)
    module = getattr(t, "__module__", "") or ""
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


class _Writer:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> tuple[int, int]:
        pad = -self.size % ALIGN
        if pad:
            self.chunks.append(bytes(pad))
            self.size += pad
        offset = self.size
        self.chunks.append(data)
        self.size += len(data)
        return offset, len(data)


def _encode(value: Any, writer: _Writer, depth: int) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        return {"t": "other", "type": type_name(value), "repr": "(nested too deeply)"}
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": value}
    if kind is float:
        return {"t": "float", "v": value}
    if kind is str:
        return {"t": "str", "v": value[:10_000]}
    if kind is torch.Tensor:
        name = TORCH_DTYPE_NAMES.get(value.dtype)
        if name is None or value.is_sparse:
            return {"t": "other", "type": f"torch.Tensor[{value.dtype}]", "repr": safe_repr(value.detach())}
        if value.is_cpu and name in _NUMPY_BYTES and value.layout is torch.strided and not value.is_neg():
            # the same bytes, in row-major order, in a third of the calls (most tensors sent)
            device, raw = "cpu", value.detach().numpy().tobytes()
        else:
            device = str(value.device)
            flat = value.detach().to("cpu").contiguous().reshape(-1)
            raw = flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""
        offset, length = writer.add(raw)
        return {"t": "tensor", "dtype": name, "shape": list(value.shape), "device": device,
                "requires_grad": bool(value.requires_grad), "off": offset, "len": length}
    if kind is np.ndarray or isinstance(value, np.generic) and kind.__module__ == "numpy":
        array = np.asarray(value)
        name = array.dtype.name
        if name not in NUMPY_DTYPES:
            return {"t": "other", "type": f"numpy.ndarray[{name}]", "repr": safe_repr(value)}
        offset, length = writer.add(np.ascontiguousarray(array).tobytes())
        return {"t": "ndarray", "dtype": name, "shape": list(array.shape),
                "scalar": kind is not np.ndarray, "off": offset, "len": length}
    if kind in (tuple, list):
        if len(value) > MAX_ITEMS:
            return {"t": "other", "type": kind.__name__, "repr": f"({len(value)} items)"}
        return {"t": kind.__name__, "items": [_encode(v, writer, depth + 1) for v in value]}
    if kind is dict and all(type(k) is str for k in value) and len(value) <= MAX_ITEMS:
        return {"t": "dict", "items": [[k, _encode(v, writer, depth + 1)] for k, v in value.items()]}
    return {"t": "other", "type": type_name(value), "repr": safe_repr(value)}


def encode_message(header: dict[str, Any], values: dict[str, Any] | None = None) -> bytes:
    """Pack ``header`` (plain JSON) and ``values`` (encoded into ``header["values"]``)."""
    return encode_packed(header, pack_values(values))


@dataclass(frozen=True)
class Packed:
    """``values`` encoded once, for a message and for anything else that needs their bytes (the
    grader's fingerprint of a request): ``tree``, the JSON of ``header["values"]`` (empty for no
    values), and the payload after the header."""

    tree: str
    payload: bytes


def pack_values(values: dict[str, Any] | None) -> Packed:
    if not values:
        return Packed("", b"")
    writer = _Writer()
    tree = {key: _encode(v, writer, 0) for key, v in values.items()}
    return Packed(json.dumps(tree, allow_nan=True), b"".join(writer.chunks))


def encode_packed(header: dict[str, Any], packed: Packed) -> bytes:
    """The message of ``header`` and the values ``packed`` holds (what :func:`encode_message` makes)."""
    if packed.tree:   # the values' JSON, made once, becomes the header's last field
        head = json.dumps({k: v for k, v in header.items() if k != "values"}, allow_nan=True)
        data = (head[:-1] + (", " if len(head) > 2 else "") + '"values": ' + packed.tree + "}").encode()
    else:
        data = json.dumps(header, allow_nan=True).encode()
    return struct.pack(">I", len(data)) + data + packed.payload


def decode_message(data: bytes, *, device_ok=lambda device: device == "cpu") -> tuple[dict, dict]:
    """Unpack a message into ``(header, values)``; raise :class:`WireError` if malformed.

    Decoding has a budget, so a reply costs the grader at most about twice its size:
    buffers are disjoint slices of the payload taken in order (no two values can name the
    same bytes), all tensors and arrays together hold at most :data:`MAX_ELEMENTS`
    elements, a message holds at most :data:`MAX_NODES` values, and tensors are views of
    one copy of the payload. Every string (in the header too) is cleaned with
    :func:`clean_text`.
    """
    if len(data) < 4:
        raise WireError("message shorter than its length prefix")
    if len(data) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE_BYTES >> 20} MiB")
    (head_len,) = struct.unpack(">I", data[:4])
    if head_len > MAX_HEADER_BYTES or 4 + head_len > len(data):
        raise WireError(f"header length {head_len} is out of range")
    try:
        header = json.loads(data[4:4 + head_len].decode())
    except (ValueError, RecursionError, MemoryError) as error:   # not JSON, too deep, a 5000-digit number
        raise WireError(f"header is not JSON: {type(error).__name__}") from None
    if not isinstance(header, dict):
        raise WireError("header is not a JSON object")
    raw_values = header.pop("values", {})
    if not isinstance(raw_values, dict):
        raise WireError("values is not an object")
    header = clean_tree(header)
    budget = _Budget(bytearray(memoryview(data)[4 + head_len:]))
    values = {clean_text(str(k)): _decode(v, budget, 0, device_ok) for k, v in raw_values.items()}
    return header, values


class _Budget:
    """What one message may still cost while it is decoded."""

    def __init__(self, payload: bytearray) -> None:
        self.payload = payload
        self.next_offset = 0    # slices must start at or after the end of the previous one
        self.elements = 0
        self.nodes = 0

    def node(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise WireError(f"more than {MAX_NODES} values in one message")

    def take(self, node: dict, itemsize: int, shape: Any) -> tuple[int, int]:
        """(offset, count) of the elements of a buffer: in range, after the previous one, in budget."""
        if not (isinstance(shape, list) and len(shape) <= 16
                and all(type(s) is int and 0 <= s < MAX_DIM for s in shape)):
            raise WireError("bad shape")
        offset, length = node.get("off"), node.get("len")
        if not (type(offset) is int and type(length) is int and 0 <= offset and 0 <= length
                and offset + length <= len(self.payload)):
            raise WireError("buffer slice is out of range")
        count = math.prod(shape)
        if count * itemsize != length:
            raise WireError("buffer length does not match dtype and shape")
        if length and offset < self.next_offset:
            raise WireError("buffer slices overlap")
        self.elements += count
        if self.elements > MAX_ELEMENTS:
            raise WireError(f"more than {MAX_ELEMENTS} tensor elements in one message")
        if length:
            self.next_offset = offset + length
        return offset, count


def _decode(node: Any, budget: _Budget, depth: int, device_ok) -> Any:
    if depth > MAX_DEPTH + 1 or not isinstance(node, dict):
        raise WireError("malformed value")
    budget.node()
    tag = node.get("t")
    if tag == "none":
        return None
    if tag in ("bool", "int", "float", "str"):
        value = node.get("v")
        expected = {"bool": bool, "int": int, "float": (float, int), "str": str}[tag]
        if not isinstance(value, expected) or (tag in ("int", "float") and type(value) is bool):
            raise WireError(f"bad {tag} value")
        if tag == "int" and abs(value) >= 1 << 64:
            raise WireError("int value out of range")
        if tag == "float":
            try:
                return float(value)
            except OverflowError:
                raise WireError("float value out of range") from None
        return clean_text(value) if tag == "str" else value
    if tag == "tensor":
        dtype = TORCH_DTYPES.get(node.get("dtype"))
        if dtype is None:
            raise WireError("tensor dtype is not allowed")
        shape = node.get("shape")
        itemsize = dtype.itemsize
        offset, count = budget.take(node, itemsize, shape)
        if not count:
            tensor = torch.empty(shape, dtype=dtype)
        elif offset % itemsize == 0:   # a view of the message's one copy of the payload
            tensor = torch.frombuffer(budget.payload, dtype=dtype, count=count, offset=offset).reshape(shape)
        else:
            raw = bytearray(budget.payload[offset:offset + count * itemsize])
            tensor = torch.frombuffer(raw, dtype=dtype).reshape(shape)
        device = node.get("device", "cpu")
        if not isinstance(device, str):
            raise WireError("bad device")
        device = clean_text(device[:64])
        if device != "cpu" and device_ok(device):
            tensor = tensor.to(device)
        elif device != "cpu":
            tensor.claimed_device = device  # type: ignore[attr-defined]
        return tensor
    if tag == "ndarray":
        dtype = NUMPY_DTYPES.get(node.get("dtype"))
        if dtype is None:
            raise WireError("array dtype is not allowed")
        shape = node.get("shape")
        offset, count = budget.take(node, dtype.itemsize, shape)
        raw = bytes(budget.payload[offset:offset + count * dtype.itemsize])
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array[()] if node.get("scalar") is True and array.ndim == 0 else array
    if tag in ("tuple", "list"):
        items = node.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise WireError("bad sequence")
        decoded = [_decode(v, budget, depth + 1, device_ok) for v in items]
        return tuple(decoded) if tag == "tuple" else decoded
    if tag == "dict":
        items = node.get("items")
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise WireError("bad dict")
        out = {}
        for pair in items:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise WireError("bad dict item")
            out[clean_text(pair[0][:REPR_CHARS])] = _decode(pair[1], budget, depth + 1, device_ok)
        return out
    if tag == "other":
        name, text = node.get("type"), node.get("repr")
        if not (isinstance(name, str) and isinstance(text, str)):
            raise WireError("bad opaque value")
        return Opaque(clean_text(name[:REPR_CHARS]), clean_text(text[:REPR_CHARS]))
    raise WireError("unknown tag")


def claimed_device(tensor: torch.Tensor) -> str:
    """The device the submission returned ``tensor`` on."""
    return getattr(tensor, "claimed_device", str(tensor.device))
