"""Imports flow one way: ``domain/`` never imports web, GraphQL, or provider SDK code."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_DOMAIN = {
    "strawberry", "starlette", "uvicorn", "graphql", "schema", "resolvers", "webhooks", "web",
    "providers", "sandbox", "main", "stripe", "anthropic", "httpx", "httpx2", "authlib", "redis",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_no_web_graphql_or_sdk_code() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN_IN_DOMAIN)
        for path in sorted((ROOT / "domain").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_layering_check_catches_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import strawberry\nfrom starlette.requests import Request\n")
    assert imported_roots(bad) & FORBIDDEN_IN_DOMAIN == {"strawberry", "starlette"}


def test_only_main_wires_everything() -> None:
    """Schema, resolvers, webhooks and providers never import the composition root."""
    for layer in ("schema", "resolvers", "webhooks", "providers", "db", "domain", "web"):
        for path in (ROOT / layer).rglob("*.py"):
            assert "main" not in imported_roots(path), path


def test_model_docstrings_have_no_semicolons() -> None:
    """Tortoise turns model docstrings into SQL comments, and SQLite splits on ';'."""
    for path in (ROOT / "db" / "models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                doc = ast.get_docstring(node) or ""
                assert ";" not in doc, f"{path.name}:{node.name}"
