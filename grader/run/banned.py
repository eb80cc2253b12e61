"""Find banned calls in a submission's source without running it (the static half).

The run-time half lives in the child (``grader.sandbox.child.recorder.BannedRecorder``) and catches
what a static reading cannot (names built at run time). Here we read the AST and
resolve what each name refers to through imports and simple assignments::

    import torch.nn.functional as F      F.softmax(x)          -> torch.nn.functional.softmax
    from torch import softmax as sm      sm(x)                 -> torch.softmax
    f = torch.softmax                    f(x)                  -> torch.softmax
    getattr(torch, "softmax")(x)                               -> torch.softmax
    x.softmax(-1)                        (x not a module)      -> Tensor.softmax

A banned entry that is a bare module (``"torch"``) bans importing it at all. A banned
name reached through another module path (``torch.nn.modules.activation.MultiheadAttention``
for ``torch.nn.MultiheadAttention``) is found by its last name on any attribute.

What a static reading cannot rule out is a finding too, marked ``certain=False``, with a
sentence that says what it was: an attribute of torch by a computed name
(``getattr(torch, name)``, ``vars(torch)``, ``torch.__dict__``), ``importlib`` or
``__import__`` with a computed name, ``sys.modules``, ``torch._C`` or ``torch.ops`` (the
operators beneath every function), the attributes that take a function apart or
reach behind a wrapper (``__kwdefaults__``, ``__closure__``, ``__wrapped__``,
``__globals__``, ...), and ``eval``/``exec``/``compile``. Such code costs the points the
ban protects, like a banned call, and is flagged for the instructor.

Sources are decoded as Python decodes them (a ``# coding:`` cookie, a BOM); a source that
cannot be decoded, is nested too deeply to parse, or is larger than the scan reads is
itself a finding that cannot be ruled out: the scan is bounded in size and in work.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

MAX_SCAN_BYTES = 1 << 20     # the grader reads no more of a submission (grader.sandbox.source)
MAX_NODES = 200_000          # syntax-tree nodes scanned; a longer source cannot be ruled out

# Attributes that reach inside a function or behind a wrapper: a banned callable taken back
# out of the run-time recorder's wrapper, or its defaults swapped.
INTROSPECTION = frozenset({"__kwdefaults__", "__defaults__", "__closure__", "__wrapped__", "__globals__",
                           "__code__", "__func__", "__self__", "__builtins__", "__subclasses__",
                           "__getattribute__", "__dict__", "__loader__", "__spec__"})
DYNAMIC_CALLS = frozenset({"eval", "exec", "compile", "__import__", "globals", "vars", "locals"})
OPERATOR_MODULES = ("torch._C", "torch.ops", "torch._ops", "torch._refs", "torch._decomp", "torch._prims")


@dataclass(frozen=True)
class Finding:
    name: str             # the banned entry that matched, or what could not be ruled out
    line: int
    certain: bool = True  # False: a computed access the scan cannot resolve
    reason: str = ""      # for an uncertain finding: the sentence a student and instructor read


class _Resolver(ast.NodeVisitor):
    def __init__(self, banned: tuple[str, ...]) -> None:
        self.banned = set(banned)
        self.modules = {b for b in banned if "." not in b}
        self.method_names = {b.split(".", 1)[1] for b in banned if b.startswith("Tensor.")}
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.findings: list[Finding] = []
        self.last_names = {b.rsplit(".", 1)[1]: b for b in banned if "." in b and not b.startswith("Tensor.")}

    def unsure(self, what: str, line: int, reason: str) -> None:
        self.findings.append(Finding(what, line, certain=False, reason=f"{reason} (line {line})"))

    def _torchish(self, node: ast.AST) -> bool:
        name = self.qualname(node)
        return bool(name) and name.split(".")[0] == "torch"

    # -- names ---------------------------------------------------------------
    def qualname(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str):
            base = self.qualname(node.args[0])
            return f"{base}.{node.args[1].value}" if base else f"?.{node.args[1].value}"
        return None

    def hit(self, name: str | None, line: int) -> None:
        if not name:
            return
        if name.startswith("torch.Tensor."):
            name = "?." + name.removeprefix("torch.Tensor.")
        if name.startswith("?."):
            attr = name[2:]
            if attr in self.method_names:
                self.findings.append(Finding(f"Tensor.{attr}", line))
            return
        for banned in self.banned:
            if name == banned or (banned in self.modules and name.split(".")[0] == banned):
                self.findings.append(Finding(banned, line))
                return

    # -- visitors ------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in ("importlib", "builtins", "ctypes", "gc", "inspect"):
                self.unsure(alias.name, node.lineno, f"imports {alias.name}, which can reach any function "
                                                     "by a computed name")
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            self.hit(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.level:
            return
        if node.module.split(".")[0] in ("importlib", "builtins", "ctypes", "gc", "inspect"):
            self.unsure(node.module, node.lineno, f"imports from {node.module}, which can reach any function "
                                                  "by a computed name")
        for alias in node.names:
            if alias.name == "*":
                self.star_modules.append(node.module)
                self.hit(node.module, node.lineno)
                continue
            full = f"{node.module}.{alias.name}"
            self.aliases[alias.asname or alias.name] = full
            self.hit(full, node.lineno)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        target = self.qualname(node.value)
        if target:
            for t in node.targets:
                if isinstance(t, ast.Name):
                    self.aliases[t.id] = target

    def visit_Attribute(self, node: ast.Attribute) -> None:
        name = self.qualname(node)
        before = len(self.findings)
        if name:
            self.hit(name, node.lineno)
            for module in OPERATOR_MODULES:
                if name == module or name.startswith(module + "."):
                    self.unsure(module, node.lineno, f"uses {module}, the operators beneath torch's functions")
                    break
        elif node.attr in self.method_names:
            self.findings.append(Finding(f"Tensor.{node.attr}", node.lineno))
        if node.attr in self.last_names and len(self.findings) == before and node.attr not in self.method_names:
            self.findings.append(Finding(self.last_names[node.attr], node.lineno))   # by another module path
        if node.attr in INTROSPECTION:
            self.unsure(node.attr, node.lineno, f"reads {node.attr}, which can take a function apart or "
                                                "reach behind a wrapper")
        if name == "sys.modules":
            self.unsure("sys.modules", node.lineno, "reads sys.modules, which reaches any loaded module")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "setattr", "delattr") and len(node.args) >= 2:
            self.hit(self.qualname(node) if func.id == "getattr" else None, node.lineno)
            constant = isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
            if not constant and (self._torchish(node.args[0]) or not isinstance(node.args[0], ast.Name)
                                 or node.args[0].id not in ("self", "cls")):
                self.unsure("getattr", node.lineno, f"calls {func.id}() with a computed attribute name")
        if isinstance(func, ast.Name) and func.id in DYNAMIC_CALLS and func.id not in self.aliases:
            if func.id == "vars" and not node.args:
                pass
            elif func.id == "__import__" and node.args and isinstance(node.args[0], ast.Constant):
                pass
            else:
                self.unsure(func.id, node.lineno, f"calls {func.id}(), which the grader cannot read through")
        if isinstance(func, ast.Attribute) and func.attr == "import_module" and node.args \
                and not (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            self.unsure("importlib", node.lineno, "imports a module by a computed name")
        if isinstance(func, ast.Attribute) and func.attr in ("attrgetter", "methodcaller"):
            self.unsure(func.attr, node.lineno, f"calls operator.{func.attr}(), a computed attribute access")
        if isinstance(node.func, ast.Name) and node.func.id == "__import__" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            self.hit(node.args[0].value, node.lineno)
        if isinstance(node.func, ast.Attribute) and node.func.attr == "import_module" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            self.hit(node.args[0].value, node.lineno)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id in self.aliases:
                self.hit(self.aliases[node.id], node.lineno)
            else:
                for module in self.star_modules:
                    self.hit(f"{module}.{node.id}", node.lineno)


def find_banned(source: str, banned: tuple[str, ...]) -> list[Finding]:
    """Banned names the source refers to (first occurrence of each), then what cannot be ruled
    out (first of each kind), in line order."""
    if not banned:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the loader reports syntax errors
    except (RecursionError, MemoryError, ValueError):
        return [Finding("unscannable", 1, certain=False,
                        reason="the source is nested too deeply for the grader to read it")]
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        return [Finding("unscannable", 1, certain=False,
                        reason=f"the source has more than {MAX_NODES} syntax nodes, more than the grader reads")]
    resolver = _Resolver(tuple(banned))
    try:
        resolver.visit(tree)
    except RecursionError:
        return [Finding("unscannable", 1, certain=False,
                        reason="the source is nested too deeply for the grader to read it")]
    seen: dict[tuple[str, bool], Finding] = {}
    for f in sorted(resolver.findings, key=lambda f: f.line):
        seen.setdefault((f.name, f.certain), f)
    return sorted(seen.values(), key=lambda f: (not f.certain, f.line))


def decode_source(data: bytes) -> str:
    """The text of a submission as Python reads it (coding cookie, BOM); ValueError if it cannot."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        raise ValueError(str(error)) from None


def scan_source(data: bytes, banned: tuple[str, ...]) -> list[Finding]:
    """Banned names in a submission's bytes (as the grader read them), decoded as Python would."""
    if not banned:
        return []
    if len(data) > MAX_SCAN_BYTES:
        return [Finding("unscannable", 1, certain=False,
                        reason=f"the source is larger than the {MAX_SCAN_BYTES >> 20} MiB the grader reads")]
    try:
        source = decode_source(data)
    except ValueError:
        return [Finding("unscannable", 1, certain=False,
                        reason="the source's encoding cannot be decoded the way Python decodes it")]
    return find_banned(source, banned)


def scan_file(path: Path, banned: tuple[str, ...]) -> list[Finding]:
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SCAN_BYTES + 1)
    except OSError:
        return []
    return scan_source(data, banned)
