"""The wire format: round trips of plain data, and refusal of anything else."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

from grader import wire


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64,
                                   torch.int64, torch.bool])
def test_tensor_round_trip_keeps_dtype_shape_and_bits(dtype):
    tensor = (torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) - 7.5).to(dtype)
    _, values = wire.decode_message(wire.encode_message({}, {"x": tensor}))
    assert values["x"].dtype == dtype
    assert values["x"].shape == (2, 3, 4)
    assert torch.equal(values["x"], tensor)


def test_nested_values_round_trip():
    value = (torch.zeros(0, 3), [1, 2.5, None, True, "text"], {"a": np.arange(3, dtype=np.float32)},
             np.float64(2.5), torch.tensor(3.0))
    _, values = wire.decode_message(wire.encode_message({}, {"v": value}))
    got = values["v"]
    assert isinstance(got, tuple) and got[0].shape == (0, 3)
    assert got[1] == [1, 2.5, None, True, "text"]
    assert got[2]["a"].dtype == np.float32 and list(got[2]["a"]) == [0, 1, 2]
    assert got[3] == 2.5 and isinstance(got[3], np.float64)
    assert got[4].shape == () and float(got[4]) == 3.0


def test_non_plain_values_cross_as_opaque():
    class Sneaky(torch.Tensor):
        pass

    class Lying:
        def __eq__(self, other):
            return True

        def __reduce__(self):
            raise AssertionError("must never be pickled")

    _, values = wire.decode_message(wire.encode_message({}, {
        "sub": torch.zeros(2).as_subclass(Sneaky), "obj": Lying(), "param": torch.nn.Parameter(torch.ones(1))}))
    assert isinstance(values["sub"], wire.Opaque) and "Sneaky" in values["sub"].type_name
    assert isinstance(values["obj"], wire.Opaque) and "Lying" in values["obj"].type_name
    assert isinstance(values["param"], wire.Opaque) and "Parameter" in values["param"].type_name


def _message(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + payload


@pytest.mark.parametrize("header, payload", [
    ({"values": {"x": {"t": "pickle", "v": "cos\nsystem"}}}, b""),
    ({"values": {"x": {"t": "tensor", "dtype": "object", "shape": [1], "off": 0, "len": 8}}}, b"\0" * 8),
    ({"values": {"x": {"t": "tensor", "dtype": "float32", "shape": [4], "off": 0, "len": 16}}}, b"\0" * 8),
    ({"values": {"x": {"t": "tensor", "dtype": "float32", "shape": [3], "off": 0, "len": 8}}}, b"\0" * 8),
    ({"values": {"x": {"t": "ndarray", "dtype": "O", "shape": [1], "off": 0, "len": 8}}}, b"\0" * 8),
    ({"values": {"x": {"t": "dict", "items": [[1, {"t": "none"}]]}}}, b""),
    ({"values": {"x": {"t": "int", "v": "7"}}}, b""),
])
def test_malformed_messages_are_refused(header, payload):
    with pytest.raises(wire.WireError):
        wire.decode_message(_message(header, payload))


def test_truncated_and_non_json_headers_are_refused():
    with pytest.raises(wire.WireError):
        wire.decode_message(b"\x00\x00")
    with pytest.raises(wire.WireError):
        wire.decode_message(struct.pack(">I", 5) + b"\x80abcd")
    with pytest.raises(wire.WireError):
        wire.decode_message(struct.pack(">I", 1000) + b"{}")
