"""The assembled schema: each domain contributes its Query/Mutation/Subscription fragment."""

from __future__ import annotations

import strawberry
from strawberry.extensions import MaskErrors
from strawberry.tools import merge_types

from resolvers.accounts import AccountsMutation, AccountsQuery
from resolvers.analysis import AnalysisMutation, AnalysisQuery
from resolvers.billing import BillingMutation, BillingQuery
from resolvers.calls import CallsMutation, CallsQuery
from resolvers.live import LiveSubscription
from resolvers.plans import PlansMutation
from resolvers.platform import PlatformMutation, PlatformQuery
from resolvers.privacy import PrivacyMutation, PrivacyQuery
from resolvers.privacy_support import PrivacySupportQuery
from resolvers.topics import TopicsMutation, TopicsQuery
from schema.contract import describe
from schema.live import LIVE_TYPES
from web.errors import is_expected_error
from web.extensions import ApiSchema, api_extensions
from web.subscriptions import SubscriptionsOverWebSocket

Query = merge_types(
    "Query",
    (AccountsQuery, PlatformQuery, BillingQuery, CallsQuery, TopicsQuery, AnalysisQuery,
     PrivacyQuery, PrivacySupportQuery),
)
Mutation = merge_types(
    "Mutation",
    (AccountsMutation, PlatformMutation, BillingMutation, CallsMutation, TopicsMutation,
     PlansMutation, AnalysisMutation, PrivacyMutation),
)
Subscription = merge_types("Subscription", (LiveSubscription,))

describe(Query, "Everything a client can read. Each field says who may call it.")
describe(Mutation, "Everything a client can change. Each mutation returns its payload or its own "
         "error type; each says who may call it.")
describe(Subscription, "Live events, over graphql-transport-ws only. Each field says who may "
         "subscribe.")


def build_schema() -> strawberry.Schema:
    """Build the public schema (also what ``schema.graphql`` is exported from)."""
    return ApiSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[*LIVE_TYPES],
        extensions=[
            *api_extensions(),
            SubscriptionsOverWebSocket,
            lambda: MaskErrors(
                should_mask_error=lambda e: not is_expected_error(e),
                error_message="Unexpected error.",
            )
        ],
    )


schema = build_schema()
