"""The public face of the package, and its layering: no import cycles, no imports of private names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import proxyx

PINNED = [
    "Answer", "Attribution", "BenchReport", "BudgetExceeded", "CallCache", "CallFailed", "Config", "ConfigError",
    "Cost", "DataError", "EXPLAINERS", "ExplainReport", "Instance", "InstanceResult", "Ledger", "Model", "ModelError",
    "ProxyxError", "ScreenResult", "Scorer", "Segments", "Spend", "build_model", "load_config", "make_explainer",
    "open_session", "run_bench", "run_explain", "run_screen",
]

PACKAGE = Path(proxyx.__file__).parent


def test_all_is_sorted_and_pinned():
    assert proxyx.__all__ == sorted(proxyx.__all__) == sorted(PINNED)


def test_every_public_name_is_the_object_its_module_defines():
    for name in proxyx.__all__:
        obj = getattr(proxyx, name)
        home = importlib.import_module(proxyx._PUBLIC[name])
        assert obj is getattr(home, name), name
        assert name in dir(proxyx)
    classes = {n for n in PINNED if n[0].isupper() and n != "EXPLAINERS"}
    assert all(isinstance(getattr(proxyx, n), type) for n in classes)
    assert all(callable(getattr(proxyx, n)) for n in set(PINNED) - classes - {"EXPLAINERS"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names) for every import of a proxyx module in ``path``, relative ones resolved."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return [(m, names) for m, names in out if m == "proxyx" or m.startswith("proxyx.")]


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for m, path in modules.items():
        for target, names in _imports(path):
            graph[m] |= {f"{target}.{n}" for n in names if f"{target}.{n}" in modules}  # from .pkg import submodule
            if target in modules and not all(f"{target}.{n}" in modules for n in names or [None]):
                graph[m].add(target)
    return graph


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for target, names in _imports(path):
            offenders += [f"{_module_name(path)}: from {target} import {n}" for n in names
                          if n.startswith("_") and not n.startswith("__")]
    assert not offenders, offenders


def test_the_bench_plot_depends_on_the_summary_only():
    graph = _graph()
    seen, todo = set(), ["proxyx.bench.plot"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    assert "proxyx.bench.summary" in seen and "proxyx.bench.run" not in seen
    assert not {"proxyx.pipeline", "proxyx.screen", "proxyx.session"} & seen
