"""Every GraphQL document in the README parses and validates against the real schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from schema.root import schema

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_a_first_session() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("document", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_document_is_valid(document: str) -> None:
    errors = validate(schema._schema, parse(document))
    assert [e.message for e in errors] == []


def test_every_setting_read_from_the_environment_is_documented() -> None:
    settings_source = (README.parent / "settings.py").read_text()
    names = set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', settings_source))
    readme = README.read_text()
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
