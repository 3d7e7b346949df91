"""The house stays in order: no import cycles, a small package root, the simulator kept apart,
runtime used only by entry points, and no citation of documents the repository does not carry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# entry points that build a Runtime (or the simulator) and hand its parts on
RUNTIME_USERS = {
    "gateway.api.app",
    "gateway.commands.cutover",
    "gateway.commands.demo",
    "gateway.commands.migrate",
    "gateway.commands.server",
}
SIMULATOR_USERS = {"gateway.demo", "gateway.commands.demo", "gateway.commands.server"}
SIMULATOR_MAY_IMPORT = {"gateway.wechat.crypto", "gateway.wechat.xmlmsg"}


def modules(package: str, root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """Modules of `known` that `path` imports, at any depth (a function-level import counts too)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def cycles(package: str, root: Path = ROOT) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    mods = modules(package, root)
    known = set(mods)
    graph = {m: imports(p, known) - {m} for m, p in mods.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles("gateway") == []
    assert cycles("kefu_sim") == []


def test_the_cycle_check_can_fail(tmp_path: Path) -> None:
    pkg = tmp_path / "loop"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from loop.b import x\n")
    (pkg / "b.py").write_text("def f():\n    from loop.a import y\n")  # a lazy import still closes the loop
    assert cycles("loop", tmp_path) == [["loop.a", "loop.b"]]


def test_the_package_root_stays_small() -> None:
    root = [p.name for p in (ROOT / "gateway").glob("*.py") if p.name != "__init__.py"]
    assert len(root) <= 10, f"gateway/ holds {len(root)} modules: {sorted(root)}"


def test_only_entry_points_import_the_runtime_and_the_simulator() -> None:
    mods = modules("gateway")
    known = set(mods) | set(modules("kefu_sim"))
    for name, path in mods.items():
        used = imports(path, known)
        if "gateway.runtime" in used:
            assert name in RUNTIME_USERS, f"{name} imports gateway.runtime to reach a service"
        if any(u.startswith("kefu_sim") for u in used):
            assert name in SIMULATOR_USERS, f"{name} imports the simulator"


def test_the_simulator_uses_only_the_products_crypto_and_xml() -> None:
    known = set(modules("gateway"))
    for name, path in modules("kefu_sim").items():
        assert imports(path, known) <= SIMULATOR_MAY_IMPORT, name


def test_no_citation_of_documents_outside_the_repository() -> None:
    outside = re.compile(r"(?<![\w/])(API|DESIGN|STYLE)\.md")
    for package in ("gateway", "kefu_sim", "tests"):
        for path in (ROOT / package).rglob("*.py"):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                assert not outside.search(line), f"{path.relative_to(ROOT)}:{number} cites {line.strip()}"
    for cited in ("docs/platforms.md", "docs/architecture.md"):
        assert (ROOT / cited).exists()


def test_the_flows_point_one_way() -> None:
    """inbound may queue jobs through outbound; outbound, channels and db never import inbound or api."""
    mods = modules("gateway")
    known = set(mods)
    for name, path in mods.items():
        used = imports(path, known)
        if name.startswith(("gateway.outbound", "gateway.channels", "gateway.db", "gateway.wechat")):
            assert not any(u.startswith(("gateway.inbound", "gateway.api")) for u in used), name
