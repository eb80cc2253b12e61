"""Find banned calls in a submission's source without running it (the static half).

The run-time half lives in the child (``grader.sandbox.child.recorder.BannedRecorder``) and catches
what a static reading cannot (names built at run time). Here we read the AST and
resolve what each name refers to through imports and simple assignments::

    import torch.nn.functional as F      F.softmax(x)          -> torch.nn.functional.softmax
    from torch import softmax as sm      sm(x)                 -> torch.softmax
    f = torch.softmax                    f(x)                  -> torch.softmax
    getattr(torch, "softmax")(x)                               -> torch.softmax
    x.softmax(-1)                        (x not a module)      -> Tensor.softmax

A banned entry that is a bare module (``"torch"``) bans importing it at all.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

@dataclass(frozen=True)
class Finding:
    name: str   # the banned entry that matched
    line: int


class _Resolver(ast.NodeVisitor):
    def __init__(self, banned: tuple[str, ...]) -> None:
        self.banned = set(banned)
        self.modules = {b for b in banned if "." not in b}
        self.method_names = {b.split(".", 1)[1] for b in banned if b.startswith("Tensor.")}
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.findings: list[Finding] = []

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
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.aliases[top] = top
            self.hit(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if not node.module or node.level:
            return
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
        if name:
            self.hit(name, node.lineno)
        elif node.attr in self.method_names:
            self.findings.append(Finding(f"Tensor.{node.attr}", node.lineno))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) >= 2:
            self.hit(self.qualname(node), node.lineno)
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
    """Banned names the source refers to, first occurrence of each, in line order."""
    if not banned:
        return []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # the loader reports syntax errors
    resolver = _Resolver(tuple(banned))
    resolver.visit(tree)
    seen: dict[str, Finding] = {}
    for f in sorted(resolver.findings, key=lambda f: f.line):
        seen.setdefault(f.name, f)
    return sorted(seen.values(), key=lambda f: f.line)


def scan_file(path: Path, banned: tuple[str, ...]) -> list[Finding]:
    try:
        source = Path(path).read_text(errors="replace")
    except OSError:
        return []
    return find_banned(source, banned)
