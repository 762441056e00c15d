"""Topics in the schema: the catalog entry, its connection, and the topic mutations' errors."""

from __future__ import annotations

from typing import Annotated, Self

import strawberry
from strawberry import relay

from db.models.topics import Topic as TopicRow
from domain import topics
from domain.principal import Role
from resolvers.context import Context
from schema.accounts import User
from schema.cefr import CefrLevel
from schema.errors import RefusalError, UserError, enum_type
from schema.pagination import Connection


def _instructions(root: Topic, info: strawberry.Info[Context, None]) -> str | None:
    """Prompt text is ours to tune, not the learner's to read: admins only."""
    principal = info.context.principal
    if principal is None or principal.role is not Role.ADMIN:
        return None
    return root.row.instructions


@strawberry.type(
    description="A conversation topic from the catalog: what a coaching call is about. "
    "The catalog is public; retired topics leave it but stay on past calls."
)
class Topic(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[TopicRow]
    title: str = strawberry.field(description="Short title, e.g. 'Job interview'.")
    description: str = strawberry.field(description="What the learner practises, in a sentence.")
    level_min: CefrLevel = strawberry.field(description="The easiest level the topic suits.")
    level_max: CefrLevel = strawberry.field(description="The hardest level the topic suits.")
    active: bool = strawberry.field(
        description="False once an admin retired it: it is no longer offered or called about."
    )

    coach_instructions: str | None = strawberry.field(
        resolver=_instructions,
        description="The instructions the AI coach receives for this topic. Admins only: "
        "null for everyone else.",
    )

    @classmethod
    def from_model(cls, row: TopicRow) -> Self:
        return cls(
            id=str(row.id),
            row=row,
            title=row.title,
            description=row.description,
            level_min=CefrLevel(row.level_min),
            level_max=CefrLevel(row.level_max),
            active=row.active,
        )


TopicConnection = Connection[Topic]

# The domain enums, marked in place as schema enums (see schema/cefr.py).
SelectTopicsErrorCode = topics.SelectTopicsErrorCode
AddTopicErrorCode = topics.AddTopicErrorCode
RetireTopicErrorCode = topics.RetireTopicErrorCode
enum_type(SelectTopicsErrorCode, "SelectTopicsErrorCode", "Why `selectTopics` refused.", {
    "TOPIC_NOT_FOUND": "An ID names no topic, or one that has been retired.",
    "TOO_MANY_TOPICS": "More than 10 topics were chosen.",
})
enum_type(AddTopicErrorCode, "AddTopicErrorCode", "Why `addTopic` refused.", {
    "INVALID_TITLE": "The title is not 3 to 120 characters (with letters or digits).",
    "INVALID_DESCRIPTION": "The description is not 10 to 1000 characters.",
    "INVALID_INSTRUCTIONS": "The coach instructions are not 20 to 4000 characters.",
    "INVALID_LEVEL_RANGE": "`levelMax` is below `levelMin`.",
    "TOPIC_EXISTS": "A topic with the same title (as a slug) exists, retired ones included.",
})
enum_type(RetireTopicErrorCode, "RetireTopicErrorCode", "Why `retireTopic` refused.", {
    "TOPIC_NOT_FOUND": "The ID names no topic.",
})


@strawberry.type(description="`selectTopics` refused; the selection is unchanged.")
class SelectTopicsError(RefusalError, UserError):
    code: SelectTopicsErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`addTopic` refused: see `code` and `field`.")
class AddTopicError(RefusalError, UserError):
    code: AddTopicErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`retireTopic` refused.")
class RetireTopicError(RefusalError, UserError):
    code: RetireTopicErrorCode = strawberry.field(description="Why it was refused.")


AddTopicResult = Annotated[
    Topic | AddTopicError,
    strawberry.union("AddTopicResult", description="The new catalog topic, or why not."),
]
SelectTopicsResult = Annotated[
    User | SelectTopicsError,
    strawberry.union(
        "SelectTopicsResult", description="The learner with their new `topics`, or why not."
    ),
]
RetireTopicResult = Annotated[
    Topic | RetireTopicError,
    strawberry.union("RetireTopicResult", description="The retired topic, or why not."),
]


@strawberry.input(description="A new catalog topic.")
class AddTopicInput:
    title: str = strawberry.field(
        description="3 to 120 characters, unique in the catalog (compared as a slug)."
    )
    description: str = strawberry.field(
        description="What the learner practises, 10 to 1000 characters."
    )
    level_min: CefrLevel = strawberry.field(description="The easiest level the topic suits.")
    level_max: CefrLevel = strawberry.field(
        description="The hardest level the topic suits; not below `levelMin`."
    )
    coach_instructions: str = strawberry.field(
        description="What the AI coach is told to do on such a call, 20 to 4000 characters."
    )
