"""API keys reach only the root fields ``resolvers/scopes.py`` opens to them, with their scope.

Checked after validation, before anything runs: a refused key causes no side effect, and the
answer is the request error FORBIDDEN naming the field and, when a scope would allow it, the
scope. Sessions are not affected.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from resolvers.scopes import OPEN_TO_KEYS, ROOT_FIELD_SCOPES
from web.observe import provided_name
from web.operation_selection import not_selected_error, selected_operation
from web.query_limits import add_errors


def root_fields(selection_set: SelectionSetNode, document: DocumentNode,
                seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """Names of the root fields an operation selects, through fragments."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    for sel in selection_set.selections:
        if isinstance(sel, FieldNode):
            yield sel.name.value
        elif isinstance(sel, InlineFragmentNode):
            yield from root_fields(sel.selection_set, document, seen)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value not in seen:
            frag = fragments.get(sel.name.value)
            if frag is not None:
                yield from root_fields(frag.selection_set, document, seen | {sel.name.value})


def refusal(root: str, field: str, scopes: frozenset[str]) -> GraphQLError | None:
    """Why an API key holding ``scopes`` may not use ``root.field``, or None when it may."""
    key = f"{root}.{field}"
    if field.startswith("__") or key in OPEN_TO_KEYS:
        return None
    needed = ROOT_FIELD_SCOPES.get(key)
    if needed is None:
        return GraphQLError(f"API keys cannot use `{field}`: sign in to do this.",
                            extensions={"code": "FORBIDDEN", "field": field})
    if needed not in scopes:
        return GraphQLError(f"This API key lacks the '{needed}' scope.",
                            extensions={"code": "FORBIDDEN", "field": field, "scope": needed})
    return None


class ApiKeyGate(SchemaExtension):
    """Place after the validation cache, like the other ``on_validate`` checks."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        principal = getattr(ctx.context, "principal", None)
        document = ctx.graphql_document
        if (principal is not None and principal.api_key_id is not None
                and document is not None and not ctx.pre_execution_errors):
            operation = selected_operation(document, provided_name(ctx))
            if operation is None:  # fail closed: no gate may pass what it could not see
                add_errors(ctx, not_selected_error(), replace=True)
            else:
                root = operation.operation.value.capitalize()
                errors = [e for f in dict.fromkeys(root_fields(operation.selection_set, document))
                          if (e := refusal(root, f, principal.scopes or frozenset())) is not None]
                if errors:
                    add_errors(ctx, *errors, replace=True)
        yield
