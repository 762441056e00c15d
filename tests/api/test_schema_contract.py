"""The public schema is a contract: ``schema.graphql`` matches the code, every part of it is
described, and the drift check itself catches a renamed field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    is_specified_scalar_type,
)

from schema.contract import drift, sorted_sdl
from schema.root import schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schema.graphql"
EXPORT = "python main.py export-schema > schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    problems = drift(SCHEMA_FILE.read_text(), sorted_sdl(schema))

    assert problems == [], f"schema.graphql is stale: run `{EXPORT}`\n" + "\n".join(problems)


def test_drift_check_reports_a_renamed_field() -> None:
    committed = sorted_sdl(schema)
    assert committed.count("\n  prefix: String!\n") == 1  # ApiKey.prefix
    renamed = committed.replace("\n  prefix: String!\n", "\n  keyPrefix: String!\n")

    problems = drift(committed, renamed)

    assert "BREAKING FIELD_REMOVED: Field ApiKey.prefix was removed." in problems
    assert "-  prefix: String!" in problems
    assert "+  keyPrefix: String!" in problems
    assert drift(committed, committed) == []


def test_export_command_prints_the_sorted_sdl() -> None:
    exported = subprocess.run([sys.executable, "main.py", "export-schema"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout

    assert exported == sorted_sdl(schema)
    assert sorted_sdl(exported) == exported  # stable: sorting again changes nothing


def undocumented(core: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field and enum value without a description."""
    missing: list[str] = []
    for name, type_ in sorted(core.type_map.items()):
        if name.startswith("__") or is_specified_scalar_type(type_):  # type: ignore[arg-type]
            continue
        if not type_.description:
            missing.append(name)
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({arg})" for arg, value in field.args.items()
                            if not value.description]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, value in type_.fields.items()
                        if not value.description]
        elif isinstance(type_, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in type_.values.items()
                        if not value.description]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    missing = undocumented(build_schema(sorted_sdl(schema)))

    assert missing == [], f"{len(missing)} schema elements lack a description:\n" + "\n".join(
        missing)


def test_the_description_check_finds_a_gap() -> None:
    core = build_schema('"""A thing."""\ntype Query { """Its name."""\nname(lang: String): '
                        'String\nsize: Int }')

    assert undocumented(core) == ["Query.name(lang)", "Query.size"]


def test_deprecations_say_why() -> None:
    core = build_schema(sorted_sdl(schema))
    vague = [f"{t.name}.{f}" for t in core.type_map.values()
             if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)
             for f, field in t.fields.items()
             if field.deprecation_reason in ("", "No longer supported")]

    assert vague == []
