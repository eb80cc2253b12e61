"""Where replay records (:mod:`grader.run.replay`) are kept between grading processes.

One small JSON file per check and seed (its passing run), and one for the failing runs it keeps,
in the user's cache folder
(``$XDG_CACHE_HOME/attention-grader/replay``, else ``~/.cache/...``; ``GRADE_REPLAY_CACHE=DIR``
puts it elsewhere, ``GRADE_REPLAY_CACHE=off`` keeps nothing). Only the grader writes it: a
submission runs in its sandbox, which cannot reach that folder.

Nothing in it is trusted to run: it holds plain values (numbers, text, lists, tuples, dicts),
torch dtypes by name and the kit's input bundles (frozen dataclasses of
:mod:`grader.kit.strategies`, rebuilt field by field). Anything else, a file that does not
parse, or one that does not say it is this record's, is ignored: the check then runs under
Hypothesis, as if nothing were recorded.

A record says which examples a check passes on, or fails on and with which notes (the example
Hypothesis names), so whoever can write the folder can choose them: it is the grader's user's own,
like the grader's installation. A class is graded from the
records its own workers make, never from this folder (``saved_records=False``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Hashable

import torch

from grader import __version__
from grader.kit import strategies

ENV = "GRADE_REPLAY_CACHE"
FORMAT = 1


def folder() -> Path | None:
    chosen = os.environ.get(ENV)
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "attention-grader" / "replay"


def _name(key: Hashable) -> str:
    return hashlib.sha256(repr((FORMAT, __version__, key)).encode()).hexdigest()[:40] + ".json"


def save(key: Hashable, examples) -> None:
    """Keep the examples of ``key``'s passing run."""
    _write(key, {"key": repr(key), "examples": [_example(e) for e in examples]})


def save_failures(key: Hashable, traces) -> None:
    """Keep ``key``'s failing runs (:class:`grader.run.replay.Trace`): each its examples, with how each
    ended, and the notes of its final error."""
    _write(("failures", key), {"key": repr(key), "traces": [
        {"examples": [_example(e) for e in trace.examples], "notes": list(trace.notes)} for trace in traces]})


def _example(example) -> dict:
    return {"kwargs": _encode(example.kwargs), "is_final": example.is_final, "valid": example.valid,
            "failure": _encode(example.failure)}


def _write(name_key: Hashable, record: dict) -> None:
    where = folder()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record)
        handle, temporary = tempfile.mkstemp(dir=where, suffix=".part")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, where / _name(name_key))
    except (OSError, TypeError, ValueError):   # not writable, or a value it cannot hold: kept in memory only
        return


def load(key: Hashable, example_type) -> tuple | None:
    """The examples of ``key``'s passing run, as ``example_type``; None when none is kept (or unreadable)."""
    saved = _read(key, key)
    try:
        examples = tuple(_example_of(e, example_type) for e in saved["examples"]) if saved else ()
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return examples or None   # a run that passed ran at least one example


def load_failures(key: Hashable, example_type, trace_type) -> list:
    """``key``'s kept failing runs, each a ``trace_type``; empty when none (or unreadable)."""
    saved = _read(("failures", key), key)
    try:
        traces = [trace_type(tuple(_example_of(e, example_type) for e in t["examples"]),
                             tuple(str(n) for n in t["notes"])) for t in saved["traces"]] if saved else []
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    return [t for t in traces if t.examples]


def _example_of(saved: dict, example_type):
    failure = _decode(saved.get("failure"))
    return example_type(kwargs=_decode(saved["kwargs"]), is_final=bool(saved["is_final"]),
                        valid=bool(saved["valid"]), failure=failure)


def _read(name_key: Hashable, key: Hashable) -> dict | None:
    where = folder()
    if where is None:
        return None
    try:
        saved = json.loads((where / _name(name_key)).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("key") != repr(key):
        return None
    return saved


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _encode(v) for k, v in value.items()}}
    if dataclasses.is_dataclass(value) and getattr(strategies, type(value).__name__, None) is type(value):
        return {"bundle": type(value).__name__,
                "fields": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    raise TypeError(f"a replay record cannot hold {type(value).__name__}")


def _decode(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ValueError("not a replay record")
    if "dtype" in value:
        dtype = getattr(torch, str(value["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError("not a dtype")
        return dtype
    if "tuple" in value:
        return tuple(_decode(v) for v in value["tuple"])
    if "list" in value:
        return [_decode(v) for v in value["list"]]
    if "dict" in value:
        return {str(k): _decode(v) for k, v in value["dict"].items()}
    if "bundle" in value:
        kind = getattr(strategies, str(value["bundle"]), None)
        if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
            raise ValueError("not a bundle")
        return kind(**{str(k): _decode(v) for k, v in value["fields"].items()})
    raise ValueError("not a replay record")
