"""The pure libraries stay pure: validation imports only its allowed stack, engine no service code."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[3] / "app"
VALIDATION_ALLOWED = {"numpy", "pandas", "scipy", "sklearn", "yaml", "jsonschema"}
NEVER_IN_PURE = {"fastapi", "starlette", "sqlalchemy", "celery", "pydantic", "pydantic_settings", "alembic"}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.append("." * node.level + (node.module or ""))
    return found


def modules_of(package: str) -> list[Path]:
    files = sorted((APP / package).rglob("*.py"))
    if not files:
        pytest.skip(f"app/{package} has no modules")
    return files


def test_validation_imports_only_its_stack():
    for path in modules_of("validation"):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if name.startswith("app"):
                assert name == "app.validation" or name.startswith("app.validation."), f"{path}: {name}"
            else:
                assert top in VALIDATION_ALLOWED or top in sys.stdlib_module_names, f"{path}: imports {name}"


@pytest.mark.parametrize("package", ["engine", "validation"])
def test_pure_packages_import_no_service_code(package):
    for path in modules_of(package):
        for name in imported_modules(path):
            assert not name.startswith("."), f"{path}: relative import {name}; name the package"
            assert name.split(".")[0] not in NEVER_IN_PURE, f"{path}: imports {name}"
            if name.split(".")[0] == "app":
                assert name.startswith(f"app.{package}"), f"{path}: imports {name} outside app.{package}"


def test_the_scan_sees_imports(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import fastapi\nfrom app.jobs import service\nfrom . import x\n")
    assert imported_modules(sample) == ["fastapi", "app.jobs", "."]
