"""The public schema as a contract: a deterministic SDL, and how two versions differ.

``python main.py export-schema > schema.graphql`` writes the SDL that is committed; types, fields,
arguments and enum values are sorted so that the file changes only when the schema does.
``tests/api/test_schema_contract.py`` fails when the code's schema and the file differ, and CI
runs ``@graphql-inspector/cli diff`` against the previous commit's file to catch breaking changes.
"""

from __future__ import annotations

import difflib
from typing import Any

from graphql import (
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    lexicographic_sort_schema,
    print_schema,
)


def sorted_sdl(schema: Any) -> str:
    """The SDL of a strawberry schema (or SDL text), sorted, ending with one newline.

    Strawberry prints its own schema (it knows how to show Python enum defaults); the text is
    rebuilt with graphql-core, sorted, and printed again.
    """
    text = schema if isinstance(schema, str) else schema.as_str()
    core: GraphQLSchema = build_schema(text)
    return print_schema(lexicographic_sort_schema(core)).rstrip("\n") + "\n"


def drift(committed: str, current: str) -> list[str]:
    """How ``current`` differs from ``committed``: breaking and dangerous changes first (from
    graphql-core), then the text diff. Empty when they are the same schema."""
    if committed.strip() == current.strip():
        return []
    old, new = build_schema(committed), build_schema(current)
    changes = [f"BREAKING {c.type.name}: {c.description}" for c in find_breaking_changes(old, new)]
    changes += [f"DANGEROUS {c.type.name}: {c.description}"
                for c in find_dangerous_changes(old, new)]
    diff = difflib.unified_diff(committed.splitlines(), current.splitlines(),
                                "schema.graphql (committed)", "schema (code)", lineterm="", n=1)
    return changes + list(diff)


def describe(type_: Any, description: str) -> None:
    """Give a type built by ``merge_types`` (the root types) its schema description."""
    type_.__strawberry_definition__.description = description
