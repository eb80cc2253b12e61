"""An interpreter folder that lies inside one of the child's private places (a virtual
environment under /tmp, as in a clone made in /tmp) is still there inside the child's root,
and nothing else of the real /tmp is.

The child's /tmp is a private tmpfs mounted over the bound folders; without binding such a
folder again, imports from it fail in the child (torch imports lazily: the reference lost
points in 02 when graded from a clone under /tmp).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

from conftest import in_a_fork
from grader import wire
from grader.sandbox import probe
from grader.sandbox.child import isolation

pytestmark = pytest.mark.skipif(probe.strongest_available() != wire.LEVEL_NAMESPACES,
                                reason="this machine cannot create the namespaces")


@pytest.fixture
def site_under_tmp():
    with tempfile.TemporaryDirectory(dir="/tmp") as top:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = Path(top) / "venv" / "lib" / version / "site-packages"
        site.mkdir(parents=True)
        (site / "lazy_part.py").write_text("VALUE = 42\n")
        (Path(top) / "secret.txt").write_text("not for the child\n")
        yield site


def _seen_from_the_child(site: Path, monkeypatch) -> dict:
    wanted = sorted(isolation.interpreter_folders() + [site])
    monkeypatch.setattr(isolation, "interpreter_folders", lambda: wanted)

    def body():
        isolation._enter_namespaces({"limits": {"file_mib": 1}})
        return {"module": (site / "lazy_part.py").is_file(),
                "beside": (site.parents[3] / "secret.txt").exists()}
    return in_a_fork(body)


def test_a_site_folder_under_tmp_is_bound_again_over_the_private_tmp(site_under_tmp, monkeypatch):
    assert _seen_from_the_child(site_under_tmp, monkeypatch) == {"module": True, "beside": False}


def test_without_binding_it_again_the_private_tmp_covers_it(site_under_tmp, monkeypatch):
    monkeypatch.setattr(isolation, "_bind_again_inside_private_places", lambda sources, hidden: None)
    assert _seen_from_the_child(site_under_tmp, monkeypatch) == {"module": False, "beside": False}
