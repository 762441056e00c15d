"""``node(id:)``: any object by its global Relay ID, if the caller may see it.

A node type is fetched by its entry in ``FETCHERS`` or, failing that, by its own
``resolve_nodes`` classmethod (strawberry's Relay hook), which must apply the same rule as the
type's other fields: another learner's object is null, never an error that reveals it exists.
A type with neither resolves to null. API keys also need the type's scope
(``resolvers/scopes.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry import relay

from db.models.accounts import Session as SessionRow
from db.models.api_keys import ApiKey as ApiKeyRow
from resolvers.context import Context
from resolvers.scopes import NODE_TYPE_SCOPES
from schema.accounts import Session, User
from schema.api_keys import ApiKey

Info = strawberry.Info[Context, None]
Fetcher = Callable[[Info, UUID], Awaitable[Any]]


async def _user(info: Info, node_id: UUID) -> User | None:
    principal = info.context.principal
    if principal is None or principal.user_id != node_id:
        return None
    row = await info.context.loaders.users.load(node_id)
    return User.from_model(row) if row is not None else None


async def _session(info: Info, node_id: UUID) -> Session | None:
    principal = info.context.principal
    if principal is None:
        return None
    row = await SessionRow.get_or_none(id=node_id, user_id=principal.user_id)
    return Session.from_model(row, current_id=principal.session_id) if row else None


async def _api_key(info: Info, node_id: UUID) -> ApiKey | None:
    principal = info.context.principal
    if principal is None:
        return None
    row = await ApiKeyRow.get_or_none(id=node_id, user_id=principal.user_id)
    return ApiKey.from_model(row) if row else None


#: Node types whose lookup lives here; others use their own ``resolve_nodes``.
FETCHERS: dict[str, Fetcher] = {"User": _user, "Session": _session, "ApiKey": _api_key}


def _own_resolve_nodes(cls: Any) -> Any:
    """The type's ``resolve_nodes`` if it overrides strawberry's placeholder, else None."""
    method = getattr(cls, "resolve_nodes", None)
    base = relay.Node.resolve_nodes
    if method is None or getattr(method, "__func__", None) is getattr(base, "__func__", base):
        return None
    return method


async def node(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="A global ID.")]
) -> relay.Node | None:
    try:
        gid = relay.GlobalID.from_id(str(id))
        node_id = UUID(gid.node_id)
    except (ValueError, TypeError):
        return None
    principal = info.context.principal
    if principal is not None and principal.api_key_id is not None:
        needed = NODE_TYPE_SCOPES.get(gid.type_name)
        if needed is None or not principal.allows(needed):
            return None
    fetch = FETCHERS.get(gid.type_name)
    if fetch is not None:
        return await fetch(info, node_id)  # type: ignore[no-any-return]
    definition = info.schema.get_type_by_name(gid.type_name)
    origin = getattr(definition, "origin", None)
    if not (inspect.isclass(origin) and issubclass(origin, relay.Node)):
        return None
    resolve_nodes = _own_resolve_nodes(origin)
    if resolve_nodes is None:
        return None
    found = resolve_nodes(info=info, node_ids=[gid.node_id], required=False)
    if inspect.isawaitable(found):
        found = await found
    return next(iter(found), None)


@strawberry.type
class NodeQuery:
    node: relay.Node | None = strawberry.field(
        resolver=node,
        description="The object with this global ID, or null when it does not exist or the "
        "caller may not see it (another learner's objects are never revealed).",
    )
