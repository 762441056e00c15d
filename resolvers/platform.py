"""The partner-platform fragments of the schema: API keys, persisted queries and ``node``."""

from __future__ import annotations

from strawberry.tools import merge_types

from resolvers.api_keys import ApiKeysMutation, ApiKeysQuery
from resolvers.node import NodeQuery
from resolvers.persisted_queries import PersistedQueriesMutation, PersistedQueriesQuery

PlatformQuery = merge_types("PlatformQuery", (NodeQuery, ApiKeysQuery, PersistedQueriesQuery))
PlatformMutation = merge_types("PlatformMutation", (ApiKeysMutation, PersistedQueriesMutation))
