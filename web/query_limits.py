"""Limits that protect the service from hostile documents, each a typed error naming the limit.

- tokens (the parser stops counting at ``max_tokens``): ``TOO_MANY_TOKENS``
- depth of nested selections: ``QUERY_TOO_DEEP``
- aliases (the cheap way to ask for one expensive field many times): ``TOO_MANY_ALIASES``
- estimated cost (``web/query_cost.py``) over the budget: ``QUERY_TOO_COMPLEX``

All are request errors: the response has no ``data``, and under
``application/graphql-response+json`` its status is 400.

The numbers come from ``Settings.api`` (``ApiLimits``). Parsing and validation are cached (an LRU
keyed by the document text), so a client repeating a document pays for them once. Depth and
alias rules are validation rules, hence cached too; the cost depends on the variables
(``first: $n``) and is computed after validation, cached by the document and the variables'
page sizes.
"""

from __future__ import annotations

import contextlib
import functools
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    parse,
)
from strawberry.extensions import SchemaExtension

from settings import ApiLimits
from web.query_cost import operation_cost

Fragments = Mapping[str, FragmentDefinitionNode]


def limits_of(context: Any) -> ApiLimits:
    """The limits for this request (the defaults when the context is not ours, e.g. in scripts)."""
    services = getattr(context, "services", None)
    settings = getattr(services, "settings", None)
    limits = getattr(settings, "api", None)
    return limits if isinstance(limits, ApiLimits) else ApiLimits()


def limit_error(message: str, code: str, node: Any = None, **extensions: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code, **extensions})


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def selection_depth(selection_set: SelectionSetNode | None, fragments: Fragments,
                    seen: frozenset[str] = frozenset()) -> int:
    """How deep selections nest (a leaf field is 1); introspection subtrees do not count."""
    if selection_set is None:
        return 0
    depth = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            if sel.name.value.startswith("__") and sel.selection_set is not None:
                continue
            depth = max(depth, 1 + selection_depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, InlineFragmentNode):
            depth = max(depth, selection_depth(sel.selection_set, fragments, seen))
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                depth = max(depth, selection_depth(frag.selection_set, fragments,
                                                   seen | {sel.name.value}))
    return depth


def alias_count(selection_set: SelectionSetNode | None, fragments: Fragments,
                seen: frozenset[str] = frozenset()) -> int:
    """Aliased fields in a selection, fragments counted each time they are spread."""
    if selection_set is None:
        return 0
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            total += (sel.alias is not None) + alias_count(sel.selection_set, fragments, seen)
        elif isinstance(sel, InlineFragmentNode):
            total += alias_count(sel.selection_set, fragments, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                total += alias_count(frag.selection_set, fragments, seen | {sel.name.value})
    return total


def root_field_count(selection_set: SelectionSetNode, fragments: Fragments, name: str,
                     seen: frozenset[str] = frozenset()) -> int:
    """How many times the root field ``name`` is selected (aliases and fragments included)."""
    total = 0
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            total += sel.name.value == name
        elif isinstance(sel, InlineFragmentNode):
            total += root_field_count(sel.selection_set, fragments, name, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                total += root_field_count(frag.selection_set, fragments, name,
                                          seen | {sel.name.value})
    return total


@functools.cache
def limit_rules(max_depth: int, max_aliases: int) -> tuple[type[ValidationRule], ...]:
    """The validation rules for these limits (one class per value, so validation caches hit)."""

    class QueryDepthRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = selection_depth(node.selection_set, _fragments(self.context.document))
            if depth > max_depth:
                self.report_error(limit_error(
                    f"The query is {depth} levels deep; the limit is {max_depth}.",
                    "QUERY_TOO_DEEP", node, depth=depth, maxDepth=max_depth))

    class AliasCountRule(ValidationRule):
        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            count = alias_count(node.selection_set, _fragments(self.context.document))
            if count > max_aliases:
                self.report_error(limit_error(
                    f"The query uses {count} aliases; the limit is {max_aliases}.",
                    "TOO_MANY_ALIASES", node, aliases=count, maxAliases=max_aliases))

    class OneSchemaRule(ValidationRule):
        """The whole schema at most once per operation: no client needs it twice, and each
        copy is ~225 KB of JSON."""

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            copies = root_field_count(node.selection_set, _fragments(self.context.document),
                                      "__schema")
            if copies > 1:
                self.report_error(limit_error(
                    f"The query asks for the schema {copies} times; ask once.",
                    "QUERY_TOO_COMPLEX", node, schemaCopies=copies))

    return (QueryDepthRule, AliasCountRule, OneSchemaRule)


@functools.cache
def _cached_parse(maxsize: int) -> Any:
    return functools.lru_cache(maxsize=maxsize)(
        lambda query, max_tokens: parse(query, max_tokens=max_tokens)
    )


def add_errors(ctx: Any, *errors: GraphQLError, replace: bool = False) -> None:
    """Report ``errors`` as request errors from an ``on_validate`` hook.

    Strawberry answers with ``pre_execution_errors`` right after validation, on HTTP and on
    WebSocket alike; raising from a hook instead would break the WebSocket transport. The list
    may be the validation cache's own, so it is copied, never changed in place.
    """
    kept = [] if replace else list(ctx.pre_execution_errors or [])
    ctx.pre_execution_errors = [*kept, *errors]


def _is_token_abort(error: GraphQLError) -> bool:
    return isinstance(error, GraphQLSyntaxError) and "tokens. Parsing aborted" in error.message


class QueryLimits(SchemaExtension):
    """Applies ``ApiLimits`` to every operation, over HTTP and WebSocket alike.

    Place it after strawberry's ``ValidationCache``: its ``on_validate`` reads the result.
    """

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        limits = limits_of(ctx.context)
        ctx.parse_options["max_tokens"] = limits.max_tokens
        ctx.validation_rules = (*ctx.validation_rules,
                                *limit_rules(limits.max_depth, limits.max_aliases))
        yield

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        limits = limits_of(ctx.context)
        if ctx.graphql_document is None and ctx.query:
            # On failure strawberry parses it again and reports the error the usual way.
            with contextlib.suppress(GraphQLError):
                ctx.graphql_document = _cached_parse(limits.parser_cache_size)(
                    ctx.query, limits.max_tokens
                )
        yield
        for error in ctx.pre_execution_errors or []:
            if _is_token_abort(error):
                error.message = f"The document has more than {limits.max_tokens} tokens."
                error.extensions = {"code": "TOO_MANY_TOKENS", "maxTokens": limits.max_tokens}

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if not ctx.pre_execution_errors and document is not None:
            limits = limits_of(ctx.context)
            operation, cost = _cost(ctx.schema._schema, ctx.query or "", document,
                                    ctx.operation_name, ctx.variables, limits.max_cost)
            if cost > limits.max_cost:
                add_errors(ctx, limit_error(
                    f"The query would cost {cost} points; the budget is {limits.max_cost}. "
                    "Ask for fewer items (first/last) or fewer fields.",
                    "QUERY_TOO_COMPLEX", operation, cost=cost, maxCost=limits.max_cost))
        yield


_OTHER = object()
_COSTS: OrderedDict[tuple[Any, ...], tuple[OperationDefinitionNode | None, int]] = OrderedDict()
COST_CACHE_SIZE = 512


def _page_values(variables: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """What of the variables the estimate can depend on: a positive-int-or-not page size per
    name (``CostEstimator._page_arg`` reads nothing else), so equal keys give equal costs."""
    return tuple(sorted(
        (name, value if isinstance(value, int) and not isinstance(value, bool)
         else None if value is None else _OTHER)
        for name, value in (variables or {}).items()
    ))


def _cost(schema: Any, query: str, document: DocumentNode, name: str | None,
          variables: Mapping[str, Any] | None, budget: int
          ) -> tuple[OperationDefinitionNode | None, int]:
    """The operation and its estimated cost, cached by document text, operation name and the
    variables' page sizes: a client repeating a document pays for the estimate once."""
    key = (id(schema), query, name, _page_values(variables), budget)
    hit = _COSTS.get(key)
    if hit is not None and query:
        _COSTS.move_to_end(key)
        return hit
    operation = _operation(document, name)
    cost = (operation_cost(schema, operation, _fragments(document), variables, budget)
            if operation is not None else 0)
    if query:
        _COSTS[key] = (operation, cost)
        if len(_COSTS) > COST_CACHE_SIZE:
            _COSTS.popitem(last=False)
    return operation, cost


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return ops[0] if len(ops) == 1 else None
    return next((op for op in ops if op.name is not None and op.name.value == name), None)
