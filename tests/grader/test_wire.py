"""The wire format: round trips of plain data, and refusal of anything else."""

from __future__ import annotations

import hashlib
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


# -- the decoder's budget: what a reply can cost the grader ------------------------------------

def _tensor(off: int, length: int) -> dict:
    return {"t": "tensor", "dtype": "uint8", "shape": [length], "device": "cpu", "off": off, "len": length}


def test_values_cannot_name_the_same_bytes_twice():
    # 384 tensors over one 8 MiB slice decoded to 3 GiB before; now the second one is refused.
    size = 8 << 20
    message = _message({"values": {"x": {"t": "tuple", "items": [_tensor(0, size)] * 384}}}, bytes(size))
    with pytest.raises(wire.WireError, match="overlap"):
        wire.decode_message(message)
    partly = _message({"values": {"x": {"t": "list", "items": [_tensor(0, 16), _tensor(8, 16)]}}}, bytes(24))
    with pytest.raises(wire.WireError, match="overlap"):
        wire.decode_message(partly)


def test_a_message_has_an_element_node_and_size_cap(monkeypatch):
    monkeypatch.setattr(wire, "MAX_ELEMENTS", 100)
    with pytest.raises(wire.WireError, match="elements"):
        wire.decode_message(_message({"values": {"x": {"t": "list", "items": [_tensor(0, 64), _tensor(64, 64)]}}},
                                     bytes(128)))
    many = {"t": "list", "items": [{"t": "list", "items": [{"t": "none"}] * 4000}] * 30}
    with pytest.raises(wire.WireError, match="values in one message"):
        wire.decode_message(_message({"values": {"x": many}}))
    monkeypatch.setattr(wire, "MAX_MESSAGE_BYTES", 1000)
    with pytest.raises(wire.WireError, match="larger than"):
        wire.decode_message(_message({}, bytes(2000)))


def test_shapes_with_huge_dimensions_are_refused_not_raised():
    with pytest.raises(wire.WireError, match="bad shape"):
        wire.decode_message(_message({"values": {"x": {"t": "tensor", "dtype": "float32", "shape": [0, 10 ** 30],
                                                       "off": 0, "len": 0}}}))


def test_decoded_tensors_are_views_of_one_copy_and_round_trip_after_padding():
    values = {"a": torch.arange(3, dtype=torch.int8), "b": torch.arange(5, dtype=torch.float64)}
    _, decoded = wire.decode_message(wire.encode_message({}, values))
    assert torch.equal(decoded["a"], values["a"]) and torch.equal(decoded["b"], values["b"])
    assert decoded["b"].untyped_storage().data_ptr() % 8 == 0


def test_every_string_from_the_other_side_is_cleaned():
    header = {"status": "error", "message": "\x1b[32mPASS\ud800", "k\x1b": 1}
    values = {"s": {"t": "str", "v": "\r\x1b[2Kfake"}, "o": {"t": "other", "type": "T\x1b", "repr": "\u202eevil"}}
    head, decoded = wire.decode_message(_message({**header, "values": values}))
    assert head == {"status": "error", "message": "\\x1b[32mPASS\ufffd", "k\\x1b": 1}
    assert decoded["s"] == "\\x0d\\x1b[2Kfake"
    assert decoded["o"] == wire.Opaque("T\\x1b", "\\u202eevil")


@pytest.mark.parametrize("head", [
    b'{"n": ' + b"9" * 5000 + b"}",            # more digits than int() takes
    b'{"n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",   # deeper than the parser goes
])
def test_headers_that_break_the_json_parser_are_refused(head):
    with pytest.raises(wire.WireError, match="not JSON"):
        wire.decode_message(struct.pack(">I", len(head)) + head)


def test_a_float_out_of_range_is_refused():
    with pytest.raises(wire.WireError, match="out of range"):
        wire.decode_message(_message({"values": {"x": {"t": "float", "v": 10 ** 400}}}))


def test_without_the_budget_one_slice_decodes_into_many_tensors(monkeypatch):
    # The defence off (slices may overlap): 384 values from one 64 KiB slice, each the whole slice.
    original = wire._Budget.take

    def overlapping(self, node, itemsize, shape):
        self.next_offset = 0
        return original(self, node, itemsize, shape)

    monkeypatch.setattr(wire._Budget, "take", overlapping)
    size = 1 << 16
    _, values = wire.decode_message(_message({"values": {"x": {"t": "tuple", "items": [_tensor(0, size)] * 384}}},
                                             bytes(size)))
    assert len(values["x"]) == 384 and sum(t.numel() for t in values["x"]) == 384 * size


class _Shown:
    def __repr__(self) -> str:
        return "<shown>"


def _every_kind_of_value() -> dict:
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    return {"args": [q, q.transpose(0, 2), q[:, ::2], torch.tensor(3.0), torch.zeros(0, 3), q.to(torch.bfloat16),
                     q.to(torch.float16).requires_grad_(), torch.ones(2, dtype=torch.bool), torch.arange(5),
                     q.expand(2, 2, 3, 4), torch.tensor([1.0, float("nan"), float("-inf")], dtype=torch.float32)],
            "kwargs": {"mask": q > 0, "x": None, "n": 3, "f": 1.5, "s": "hi", "t": (1, [2.0, None]), "o": _Shown()},
            "arrays": [np.arange(6.0).reshape(2, 3)[:, ::2], np.float32(2.5), np.array(3), np.zeros(2, np.complex64)],
            "nested": [[[[[[[[[[1]]]]]]]]]], "long": list(range(5000)), "sparse": torch.eye(2).to_sparse(),
            "complex": torch.zeros(2, dtype=torch.complex64), "keys": {1: 2}}


def test_the_encoder_writes_the_very_bytes_it_always_has():
    """The child decodes what the grader encodes with the same module: a faster encoder must write the
    same bytes (this digest is that of the encoder before it was made faster)."""
    data = wire.encode_message({"op": "call", "x": 1}, _every_kind_of_value())
    assert hashlib.sha256(data).hexdigest() == GOLDEN, len(data)


GOLDEN = "c4833253021c1608ab39cb9dc9a33878647010bbb93973276def453a806c13d1"


def test_values_packed_once_make_the_same_message_and_a_header_keeps_its_own_values_without_any():
    values = {"args": [torch.randn(2, 3, dtype=torch.float64), 4], "kwargs": {"mask": torch.ones(3, dtype=torch.bool)}}
    packed = wire.pack_values(values)
    header, decoded = wire.decode_message(wire.encode_packed({"op": "call", "values": "stale"}, packed))
    assert header == {"op": "call"} and torch.equal(decoded["args"][0], values["args"][0])
    assert decoded["args"][1] == 4 and torch.equal(decoded["kwargs"]["mask"], values["kwargs"]["mask"])
    # No values: the header is sent as it is, as encode_message always did.
    assert json.loads(wire.encode_packed({"values": 3}, wire.pack_values(None))[4:]) == {"values": 3}
    assert wire.encode_packed({}, wire.pack_values({})) == wire.encode_message({})


def test_a_requests_fingerprint_is_its_content_without_the_objects_number():
    from grader.sandbox.proxy import _fingerprint

    x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    header = {"op": "call", "target": {"obj": 3, "method": "__call__"}, "echo_inputs": False}

    def fingerprint(header=header, **values):
        return _fingerprint(header, wire.pack_values(values or {"args": [x]}))

    same = fingerprint({**header, "target": {"obj": 7, "method": "__call__"}})
    assert fingerprint() == same   # a fresh child numbers its objects afresh
    nudged = x.clone()
    nudged[0, 2] = torch.nextafter(nudged[0, 2], torch.tensor(10.0, dtype=torch.float64))   # one bit
    changed = [fingerprint(args=[nudged]),
               fingerprint(args=[x.float()]), fingerprint(args=[x.reshape(3, 2)]), fingerprint(args=[x, None]),
               fingerprint({**header, "echo_inputs": True}),
               fingerprint({**header, "target": {"obj": 3, "method": "double"}})]
    assert same not in changed and len(set(changed)) == len(changed)
