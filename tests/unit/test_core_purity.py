"""The pure core stays pure: no I/O libraries, no environment, no clock (DESIGN.md §3, STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "warning" / "core"
FORBIDDEN_MODULES = {
    "faust", "mode", "kafka", "aiokafka", "redis", "prometheus_client", "aiohttp", "os", "time",
    "socket", "subprocess", "requests", "urllib", "pathlib", "warning.settings", "warning.thresholds",
}  # fmt: skip
FORBIDDEN_CALLS = {"datetime.now", "datetime.utcnow", "date.today", "datetime.today", "time.time", "open", "input"}


def _files() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_io_and_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            root = name.split(".")[0]
            assert root not in FORBIDDEN_MODULES and name not in FORBIDDEN_MODULES, f"{path.name} imports {name}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                called = f"{func.value.id}.{func.attr}"
            else:
                called = func.id if isinstance(func, ast.Name) else ""
            assert called not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} calls {called}()"
