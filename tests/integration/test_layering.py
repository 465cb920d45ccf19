"""Architecture rules from the house style, enforced rather than hoped for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"
FORBIDDEN_IN_PURE = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "celery",
    "pydantic_settings",
    "alembic",
    "workers",
)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", ["engine", "validation"])
def test_pure_libraries_import_no_service_code(package):
    files = list((APP / package).rglob("*.py"))
    if not files:
        pytest.skip(f"app/{package} has no modules yet")
    for path in files:
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN_IN_PURE, f"{path}: imports {name}"
            if name.startswith("app.") or name == "app":
                assert name.startswith(f"app.{package}"), f"{path}: imports {name} outside app.{package}"


def test_routers_hold_no_queries():
    for path in APP.glob("*/router.py"):
        found = re.findall(r"(?<![.\w])(?:select|update|delete|insert)\(|\.execute\(|\.query\(", path.read_text())
        assert not found, f"{path} contains {found}: queries belong in the service"


def test_only_config_reads_the_environment():
    for path in APP.rglob("*.py"):
        if path.parts[-2] in ("engine", "validation", "cli") or path.name == "config.py":
            continue
        assert "os.environ" not in path.read_text() and "getenv" not in path.read_text(), path


def test_services_never_commit_or_raise_http_errors():
    # the jobs service is split by what it does: creation and queries, the runner, the reaper
    for path in [*APP.glob("*/service.py"), *(APP / "jobs" / name for name in ("transitions.py", "runner.py", "reaper.py"))]:
        text = path.read_text()
        assert ".commit()" not in text, f"{path} commits: only get_session/session_scope do"
        assert "HTTPException" not in text, f"{path} raises HTTPException: raise an AppError"


def module_level_imports(path: Path, modules: set[str]) -> set[str]:
    """The app modules ``path`` imports when it is loaded (imports inside functions run later)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # ``from app.jobs import service`` imports the module app.jobs.service
                name = f"{node.module}.{alias.name}"
                found.add(name if name in modules else node.module)
    return found & modules


def test_app_modules_import_each_other_without_cycles():
    """An import cycle (e.g. datasets.service <-> jobs.service) only works by import-order luck."""
    paths = {".".join(p.relative_to(APP.parent).with_suffix("").parts).removesuffix(".__init__"): p for p in APP.rglob("*.py")}
    graph = {name: module_level_imports(path, set(paths)) - {name} for name, path in paths.items()}
    for start in graph:
        stack, seen = [(start, (start,))], set()
        while stack:
            name, route = stack.pop()
            for imported in graph[name]:
                assert imported != start, "import cycle: " + " -> ".join((*route, start))
                if imported not in seen:
                    seen.add(imported)
                    stack.append((imported, (*route, imported)))
