"""What an introspection selection returns, counted exactly and cheaply.

Introspection used to be free in the cost budget and skipped by the depth rule, so one anonymous
document of 30 aliased ``__schema { types { fields { … } } }`` returned 7.1 MB in 3.1 s (issue 13,
finding 4). The schema is fixed, so what such a selection returns is known before it runs: this
walks the selection over the schema itself with graphql-core's own introspection resolvers,
counting one point per field in the response, and stops as soon as the count passes the budget.
The walk is therefore bounded by the budget, not by the document (the standard introspection
query of this schema counts about 9,000, so GraphiQL and codegen fit; several copies do not).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
)
from graphql.type.introspection import introspection_types

_SCHEMA = cast(GraphQLObjectType, introspection_types["__Schema"])
_TYPE = cast(GraphQLObjectType, introspection_types["__Type"])


@dataclass(frozen=True, slots=True)
class _Info:
    """The one part of ``GraphQLResolveInfo`` the introspection resolvers read."""

    schema: GraphQLSchema


class _Budget(Exception):
    """The count passed its limit: the answer is "more than the limit"."""


class IntrospectionCounter:
    """Counts the response fields of introspection selections, up to ``limit``."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], limit: int) -> None:
        self.schema = schema
        self.info = _Info(schema)
        self.fragments = fragments
        self.variables = variables
        self.limit = limit
        self.count = 0

    def root_field(self, node: FieldNode) -> int:
        """The cost of a root ``__schema`` or ``__type(name:)`` field, at most ``limit + 1``."""
        self.count = 0
        try:
            self._add(1)
            if node.name.value == "__schema":
                self._walk(node.selection_set, _SCHEMA, self.schema)
            elif node.name.value == "__type":
                found = self.schema.get_type(self._name_arg(node) or "")
                if found is not None:
                    self._walk(node.selection_set, _TYPE, found)
        except _Budget:
            return self.limit + 1
        return self.count

    def _add(self, points: int) -> None:
        self.count += points
        if self.count > self.limit:
            raise _Budget

    def _name_arg(self, node: FieldNode) -> str | None:
        for arg in node.arguments or ():
            if arg.name.value != "name":
                continue
            if isinstance(arg.value, StringValueNode):
                return arg.value.value
            if isinstance(arg.value, VariableNode):
                value = self.variables.get(arg.value.name.value)
                return value if isinstance(value, str) else None
        return None

    def _walk(self, selection_set: SelectionSetNode | None, parent: GraphQLObjectType,
              value: Any, seen: frozenset[str] = frozenset()) -> None:
        if selection_set is None:
            return
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                self._field(sel, parent, value, seen)
            elif isinstance(sel, InlineFragmentNode):
                self._walk(sel.selection_set, parent, value, seen)
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
                frag = self.fragments.get(sel.name.value)
                if frag is not None:
                    self._walk(frag.selection_set, parent, value, seen | {sel.name.value})

    def _field(self, node: FieldNode, parent: GraphQLObjectType, value: Any,
               seen: frozenset[str]) -> None:
        self._add(1)
        field = parent.fields.get(node.name.value)
        if field is None or field.resolve is None or node.selection_set is None:
            return  # a leaf, __typename, or an unknown field (validation reports it)
        kwargs = {"includeDeprecated": True} if "includeDeprecated" in field.args else {}
        result = field.resolve(value, self.info, **kwargs)
        child = get_named_type(field.type)
        if not isinstance(child, GraphQLObjectType) or result is None:
            return
        items = result if isinstance(result, Iterable) and not isinstance(result, str) else (
            result,)
        for item in items:
            self._walk(node.selection_set, child, item, seen)
