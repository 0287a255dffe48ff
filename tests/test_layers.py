"""The layers of the code, read from its imports (``ast``; nothing is imported or run).

- ``hostd/protocol`` (the wire) and ``treesync`` (a sync's rules and disk
  operations) are the parts the client shares with hostd: standard library
  only, so the client never drags in hostd's dependencies. The protocol
  also does no file or process I/O at all: it turns bytes into messages
  and back (h11's sans-IO way), so it can be tested and reused anywhere.
- ``hostd`` never imports ``app`` or a GUI or SSH library; of hostd, ``app``
  imports only ``hostd.protocol``.
- ``app/remote`` (the client library) never imports Qt or qasync, so
  claude-remote runs without a display. Within ``app``, only
  ``app/remote/ssh`` imports paramiko: the rest of the library and the
  widgets talk to hosts through it, so one package holds the SSH library's
  ways (its threads, its exceptions).
- No two modules import each other, however far round: an import cycle
  means two rooms that are really one, or a job in the wrong room. Every
  import counts, also one inside a function or under ``TYPE_CHECKING``.

Each failure names the offending import, as ``file:line: import``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO

PACKAGES = ("hostd", "app", "treesync")
SHARED = ("hostd.protocol", "treesync")
# The modules through which Python reaches files, processes and the network.
IO_MODULES = frozenset({
    "os", "shutil", "subprocess", "socket", "pathlib", "tempfile", "fcntl", "io",
    "select", "selectors", "asyncio", "glob", "mmap", "pty", "signal", "multiprocessing",
})  # fmt: skip
QT = ("PySide6", "shiboken6", "qasync")
SSH = ("paramiko",)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported (a submodule when ``from pkg import mod``)
    where: str  # file:line
    text: str  # the statement, as written

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path = REPO) -> Iterator[Path]:
    for pkg in PACKAGES:
        yield from sorted((root / pkg).rglob("*.py"))


def imports_of(path: Path, modules: set[str], root: Path = REPO) -> Iterator[Import]:
    """Every import in the file, resolved to the module it loads."""
    name = module_name(path, root)
    is_pkg = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    rel = path.relative_to(root)
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, where, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                pkg = ".".join([*base, node.module] if node.module else base)
            else:
                pkg = node.module or ""
            if pkg == "__future__":
                continue
            for alias in node.names:
                # ``from pkg import mod`` loads the submodule; ``from mod import name`` the module.
                sub = f"{pkg}.{alias.name}"
                target = sub if sub in modules else pkg
                text = f"from {'.' * node.level}{node.module or ''} import {alias.name}"
                yield Import(name, target, where, text)


def all_imports(root: Path = REPO) -> list[Import]:
    files = list(source_files(root))
    modules = {module_name(p, root) for p in files}
    return [imp for p in files for imp in imports_of(p, modules, root)]


def within(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def top(module: str) -> str:
    return module.split(".")[0]


# -- the rules -------------------------------------------------------------------


def layer_violations(imports: Iterable[Import]) -> list[str]:
    bad = []
    for imp in imports:
        src, dst = imp.source, imp.target
        for shared in SHARED:
            if within(src, shared) and not (
                top(dst) in sys.stdlib_module_names or within(dst, shared)
            ):
                bad.append(f"{imp}  ({shared} takes the standard library only)")
        if within(src, "hostd.protocol") and top(dst) in IO_MODULES:
            bad.append(f"{imp}  (hostd.protocol does no file or process I/O)")
        if within(src, "hostd") and within(dst, "app", *QT, *SSH):
            bad.append(f"{imp}  (hostd never imports the client, Qt or paramiko)")
        if within(src, "app") and within(dst, "hostd") and not within(dst, "hostd.protocol"):
            bad.append(f"{imp}  (of hostd, app imports hostd.protocol only)")
        if within(src, "app.remote") and within(dst, *QT):
            bad.append(f"{imp}  (app.remote never imports Qt or qasync)")
        if within(src, "app") and not within(src, "app.remote.ssh") and within(dst, *SSH):
            bad.append(f"{imp}  (within app, only app.remote.ssh imports paramiko)")
    return bad


def io_calls(root: Path = REPO) -> list[str]:
    """Calls of the builtin ``open`` in the protocol (the imports are checked above)."""
    bad = []
    for path in sorted((root / "hostd" / "protocol").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            if call and node.func.id == "open":  # type: ignore[attr-defined]
                bad.append(f"{path.relative_to(root)}:{node.lineno}: open(...)  (no file I/O)")
    return bad


def cycles(imports: Iterable[Import]) -> list[list[Import]]:
    """One import path round each cycle between modules of this project."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if imp.target != imp.source and top(imp.target) in PACKAGES:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    found: list[list[Import]] = []
    seen: set[frozenset[str]] = set()
    for component in _strongly_connected(edges):
        if len(component) < 2 or frozenset(component) in seen:
            continue
        seen.add(frozenset(component))
        found.append(_a_cycle(edges, component))
    return found


def _strongly_connected(edges: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    nodes = set(edges) | {t for ts in edges.values() for t in ts}
    for start in sorted(nodes):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, {}))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, {})))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = set()
                    while True:
                        item = stack.pop()
                        on_stack.discard(item)
                        comp.add(item)
                        if item == node:
                            break
                    out.append(comp)
    return out


def _a_cycle(edges: dict[str, dict[str, Import]], component: set[str]) -> list[Import]:
    """The shortest way from the component's first module back to itself."""
    start = min(component)
    paths: dict[str, list[Import]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child, imp in sorted(edges.get(node, {}).items()):
            if child == start:
                return [*paths[node], imp]
            if child in component and child not in paths:
                paths[child] = [*paths[node], imp]
                queue.append(child)
    raise AssertionError(f"{component} is not a cycle")


# -- the tests -------------------------------------------------------------------


def test_every_import_keeps_to_its_layer() -> None:
    bad = layer_violations(all_imports()) + io_calls()
    assert not bad, "imports across the layers:\n" + "\n".join(bad)


def test_no_import_cycles_between_modules() -> None:
    found = cycles(all_imports())
    text = "\n\n".join("\n".join(f"  {imp}" for imp in cycle) for cycle in found)
    assert not found, f"{len(found)} import cycle(s):\n{text}"


def test_a_planted_bad_import_is_named(tmp_path: Path) -> None:
    """The checks above must be able to fail: a copy of a tiny tree that
    breaks each rule once is caught, and each report names the file and line."""
    files = {
        "hostd/__init__.py": "",
        "hostd/protocol/__init__.py": "import os\n",
        "hostd/protocol/wire.py": "from hostd import sandbox\n",
        "hostd/sandbox.py": "from hostd.protocol import wire\nfrom app import cli\n",
        "treesync/__init__.py": "import psutil\n",
        "app/__init__.py": "",
        "app/cli.py": "from hostd.lifecycle import x\n",
        "app/remote/__init__.py": "from PySide6 import QtCore\n",
        "app/remote/client.py": "from paramiko import SSHClient\n",
        "app/remote/ssh/__init__.py": "import paramiko\n",
        "app/ui/__init__.py": "def f():\n    import paramiko\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    imports = all_imports(tmp_path)
    bad = "\n".join(layer_violations(imports))
    assert "hostd/protocol/__init__.py:1: import os  (hostd.protocol does no file" in bad
    assert "hostd/protocol/wire.py:1: from hostd import sandbox  (hostd.protocol takes" in bad
    assert "treesync/__init__.py:1: import psutil  (treesync takes" in bad
    assert "hostd/sandbox.py:2: from app import cli  (hostd never imports" in bad
    assert "app/cli.py:1: from hostd.lifecycle import x  (of hostd, app imports" in bad
    assert "app/remote/__init__.py:1: from PySide6 import QtCore  (app.remote never" in bad
    assert "app/ui/__init__.py:2: import paramiko  (within app, only app.remote.ssh" in bad
    assert "app/remote/client.py:1: from paramiko import SSHClient  (within app, only" in bad
    assert "app/remote/ssh/__init__.py" not in bad  # the one place allowed
    found = cycles(imports)
    assert [[str(i) for i in c] for c in found] == [[
        "hostd/protocol/wire.py:1: from hostd import sandbox",
        "hostd/sandbox.py:1: from hostd.protocol import wire",
    ]]  # fmt: skip
