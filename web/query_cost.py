"""What a document costs to run, estimated from its shape before any resolver runs.

Every field costs 1, and a field that returns many items multiplies what it selects by how many:
a connection by its ``first``/``last`` (or the default page size when neither is given), a plain
list by the maximum page size (its length is unknown). The ``edges`` list inside a connection is
already counted by its connection. Fragments on unions and interfaces are all added up, so the
estimate errs high. Introspection (``__schema``, ``__type``) costs exactly what it returns
(``web/introspection_cost.py``); ``__typename`` is free.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
)

from schema.pagination import DEFAULT_PAGE, MAX_PAGE
from web.introspection_cost import IntrospectionCounter

PAGE_ARGS = ("first", "last")
INTROSPECTION_ROOTS = frozenset({"__schema", "__type"})


def _is_connection(type_: GraphQLNamedType | None) -> bool:
    return isinstance(type_, GraphQLObjectType) and {"edges", "pageInfo"} <= type_.fields.keys()


class CostEstimator:
    """Estimates one operation of a parsed document, given the request's variables."""

    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 variables: Mapping[str, Any], defaults: Mapping[str, Any],
                 introspection_limit: int) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.defaults = defaults
        self.introspection = IntrospectionCounter(schema, fragments, variables,
                                                  introspection_limit)

    def _page_arg(self, node: FieldNode) -> int | None:
        for arg in node.arguments or ():
            if arg.name.value not in PAGE_ARGS:
                continue
            value: Any = None
            if isinstance(arg.value, IntValueNode):
                value = int(arg.value.value)
            elif isinstance(arg.value, VariableNode):
                name = arg.value.name.value
                value = self.variables.get(name, self.defaults.get(name))
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return min(value, MAX_PAGE)
            if value is not None:
                return MAX_PAGE  # invalid sizes are refused by the resolver; assume the worst
        return None

    def _multiplier(self, node: FieldNode, field: Any, parent: GraphQLNamedType) -> int:
        returns = get_nullable_type(field.type)
        takes_page = any(name in field.args for name in PAGE_ARGS)
        if takes_page:
            return self._page_arg(node) or DEFAULT_PAGE
        if isinstance(returns, GraphQLList):
            return 1 if _is_connection(parent) else MAX_PAGE
        return 1

    def selection_cost(self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType,
                       seen: frozenset[str] = frozenset()) -> int:
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                name = sel.name.value
                if name in INTROSPECTION_ROOTS:
                    total += self.introspection.root_field(sel)
                    continue
                if name.startswith("__"):
                    continue
                fields = (parent.fields
                          if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) else {})
                field = fields.get(name)
                if field is None:
                    continue  # validation reports unknown fields
                child = self.selection_cost(sel.selection_set, get_named_type(field.type), seen)
                total += 1 + self._multiplier(sel, field, parent) * child
            elif isinstance(sel, InlineFragmentNode):
                cond = sel.type_condition
                target = self.schema.get_type(cond.name.value) if cond else parent
                total += self.selection_cost(sel.selection_set, target or parent, seen)
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments.get(sel.name.value)
                if frag is None or sel.name.value in seen:
                    continue
                target = self.schema.get_type(frag.type_condition.name.value) or parent
                total += self.selection_cost(frag.selection_set, target, seen | {sel.name.value})
        return total


def operation_cost(schema: GraphQLSchema, operation: OperationDefinitionNode,
                   fragments: Mapping[str, FragmentDefinitionNode],
                   variables: Mapping[str, Any] | None, introspection_limit: int = 10**6) -> int:
    """The estimated cost of ``operation`` with ``variables``.

    Each introspection field is counted up to ``introspection_limit`` (pass the budget: a count
    beyond it only needs to say "too much", and stopping there bounds the work).
    """
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        default = definition.default_value
        if isinstance(default, IntValueNode):
            defaults[definition.variable.name.value] = int(default.value)
    estimator = CostEstimator(schema, fragments, variables or {}, defaults,
                              introspection_limit)
    return estimator.selection_cost(operation.selection_set, root)
