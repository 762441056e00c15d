"""Which operation of a document runs, decided once, before any gate looks at it.

graphql-core (and strawberry's ``get_operation_type``) pick the *first* operation of a document
sent without ``operationName``, while ``get_operation_ast`` answers None for the same document:
a gate reading the latter checked nothing while the former ran (issue 13, finding 1). The spec
says a document with several operations and no name is an error ("Must provide operation
name."), so every transport asks ``ambiguity`` first and refuses; the gates then read the
operation through ``selected_operation``, which fails closed.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, get_operation_ast

from web.query_limits import _cached_parse, limits_of

MUST_NAME = "Must provide operation name."


def operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def ambiguity(query: str | None, operation_name: str | None, context: Any) -> str | None:
    """Why no single operation of ``query`` can be chosen, or None when one can.

    Parses through the request parser's cache, so the parse strawberry does next is a hit. A
    document that does not parse is left to strawberry, which reports the syntax error.
    """
    if not query or operation_name is not None:
        return None
    limits = limits_of(context)
    try:
        document = _cached_parse(limits.parser_cache_size)(query, limits.max_tokens)
    except GraphQLError:
        return None
    return MUST_NAME if len(operations(document)) > 1 else None


def selected_operation(document: DocumentNode, operation_name: str | None
                       ) -> OperationDefinitionNode | None:
    """The operation that will run; None when none can be chosen (a gate then refuses)."""
    return get_operation_ast(document, operation_name)


def not_selected_error() -> GraphQLError:
    return GraphQLError(MUST_NAME, extensions={"code": "BAD_USER_INPUT"})
