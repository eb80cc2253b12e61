"""A reply from the child, checked field by field before any check sees it.

The child's header is its word: a field of the wrong type would otherwise break a check
(``int(header["obj"])`` on a list) and read as a grader bug. :func:`checked_reply` keeps the
fields the protocol names, each of the type it gives them, drops the rest, and raises
:class:`grader.wire.WireError` (the submission's failure: "sent a malformed reply") otherwise.
"""

from __future__ import annotations

from grader import wire

# The reply header, field by field: the type each must have when present (anything else is dropped).
REPLY_FIELDS = {"status": str, "banned": list, "aten_ops": int, "graph": bool, "obj": int, "info": dict,
                "name": str, "message": str, "type": str, "frames": list, "not_implemented": bool,
                "exit": bool, "memory": bool, "stage": str}
REPLY_VALUES = {"result": object, "input_grads": dict, "param_grads": dict, "inputs_after": dict, "state": dict}
STATUSES = ("ok", "error", "missing", "protocol", "built")  # "built": made, converted, loaded; the call follows


def checked_reply(head: dict, out: dict) -> tuple[dict, dict]:
    """The reply with every field of the type the protocol says; :class:`wire.WireError` otherwise."""
    checked = {}
    for key, kind in REPLY_FIELDS.items():
        if key not in head or head[key] is None:
            continue
        value = head[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise wire.WireError(f"reply field {key!r} is not a {kind.__name__}")
        checked[key] = value
    if checked.get("status") not in STATUSES:
        raise wire.WireError("reply status is not one the protocol knows")
    info = checked.get("info")
    if info is not None:
        for key, kind in (("children", dict), ("parameters", dict), ("buffers", list), ("type", str),
                          ("is_module", bool)):
            if key in info and not isinstance(info[key], kind):
                raise wire.WireError(f"object info field {key!r} is not a {kind.__name__}")
        if not all(isinstance(v, dict) for v in (info.get("children") or {}).values()) or not all(
                isinstance(v, list) and len(v) == 2 and isinstance(v[0], list) and isinstance(v[1], str)
                for v in (info.get("parameters") or {}).values()):
            raise wire.WireError("object info does not describe children and parameters")
    values = {}
    for key, kind in REPLY_VALUES.items():
        if key in out:
            if not isinstance(out[key], kind):
                raise wire.WireError(f"reply value {key!r} is not a {kind.__name__}")
            values[key] = out[key]
    after = values.get("inputs_after")
    if after is not None and not (isinstance(after.get("args"), (list, tuple)) and isinstance(after.get("kwargs"), dict)):
        raise wire.WireError("echoed inputs are not (args, kwargs)")
    return checked, values
