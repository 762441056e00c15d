"""What an API key may reach: root fields and node types by the scope each needs.

A signed-in session may use every field. An API key may use only the root fields listed here
(plus introspection), and only while it holds the listed scope; anything else is refused before
it runs (``web/api_key_gate.py``), so a field added without thinking about keys is session-only
by default. Resolvers still call ``Context.require_scope`` as the field-level check. Scope names
and meanings are in ``domain/api_keys.py``. Adding a partner-facing field? Add it here.
"""

from __future__ import annotations

#: "<RootType>.<field>" -> the scope an API key needs to use it.
ROOT_FIELD_SCOPES: dict[str, str] = {
    "Query.me": "profile:read",
    "Query.call": "calls:read",
    "Query.calls": "calls:read",
    "Query.topUp": "billing:read",
    "Query.transactions": "billing:read",
    "Query.topics": "topics:read",
    "Query.progress": "progress:read",
    "Query.mistakes": "progress:read",
    "Mutation.startCall": "calls:write",
    "Mutation.setCallPlan": "calls:write",
    "Mutation.requestReanalysis": "calls:write",
    "Subscription.callUpdates": "calls:read",
    "Subscription.myEvents": "events:read",
}

#: ``node(id:)`` for an API key: the scope each node type needs (unlisted types resolve to null).
NODE_TYPE_SCOPES: dict[str, str] = {
    "User": "profile:read",
    "Call": "calls:read",
    "TopUp": "billing:read",
    "LedgerEntry": "billing:read",
    "Topic": "topics:read",
}

#: Open to any key: ``node(id:)`` (each node type is then checked against NODE_TYPE_SCOPES) and
#: public documents.
OPEN_TO_KEYS = frozenset({"Query.node", "Query.currentPolicy"})
