"""GET serves only side-effect-free queries (GraphQL-over-HTTP; issue 13, finding 8).

Mutations are refused over GET by strawberry (``allowed_operation_types``). Query fields that
write (declared with ``resolvers.effects.WRITES``) are refused here with 405, before anything
runs, so a link opened cross-site by a signed-in support agent writes nothing.
"""

from __future__ import annotations

from typing import Any

from graphql import DocumentNode, GraphQLError
from strawberry.schema.base import BaseSchema

from resolvers.effects import writes
from web.api_key_gate import root_fields
from web.operation_selection import selected_operation
from web.query_limits import _cached_parse, limits_of


def _writing_query_fields(schema: BaseSchema) -> frozenset[str]:
    definition = schema.get_type_by_name("Query")
    fields = getattr(definition, "fields", ())
    return frozenset(f.graphql_name or schema.config.name_converter.get_graphql_name(f)
                     for f in fields if writes(f.metadata))


def writing_field(schema: BaseSchema, query: str | None, operation_name: str | None,
                  context: Any) -> str | None:
    """The first root field of the operation that writes, or None."""
    if not query:
        return None
    limits = limits_of(context)
    try:
        document: DocumentNode = _cached_parse(limits.parser_cache_size)(query, limits.max_tokens)
    except GraphQLError:
        return None
    operation = selected_operation(document, operation_name)
    if operation is None or operation.operation.value != "query":
        return None
    found = _writing_query_fields(schema)
    return next((f for f in root_fields(operation.selection_set, document) if f in found), None)
