"""The topic catalog (seeded by a migration, curated by admins) and each learner's chosen topics.

A retired topic leaves the catalog and stops being offered or called about, but the rows that
say a learner once chose it stay, so retiring is reversible and history keeps its meaning.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from db.models.topics import Topic, UserTopic
from domain.cefr import CefrLevel
from domain.errors import DomainError

#: A learner rotates through at most this many topics; more would make the rotation meaningless.
MAX_SELECTED = 10


class SelectTopicsErrorCode(Enum):
    TOPIC_NOT_FOUND = "TOPIC_NOT_FOUND"
    TOO_MANY_TOPICS = "TOO_MANY_TOPICS"


class SelectTopicsRefused(DomainError):
    pass


class AddTopicErrorCode(Enum):
    INVALID_TITLE = "INVALID_TITLE"
    INVALID_DESCRIPTION = "INVALID_DESCRIPTION"
    INVALID_INSTRUCTIONS = "INVALID_INSTRUCTIONS"
    INVALID_LEVEL_RANGE = "INVALID_LEVEL_RANGE"
    TOPIC_EXISTS = "TOPIC_EXISTS"


class AddTopicRefused(DomainError):
    pass


class RetireTopicErrorCode(Enum):
    TOPIC_NOT_FOUND = "TOPIC_NOT_FOUND"


class RetireTopicRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class NewTopic:
    """What an admin gives for a new catalog topic."""

    title: str
    description: str
    level_min: CefrLevel
    level_max: CefrLevel
    instructions: str


@dataclass(frozen=True, slots=True)
class CatalogPosition:
    """A keyset position in the catalog order (easiest level first, then by slug)."""

    level_min: str
    slug: str


def position_of(topic: Topic) -> CatalogPosition:
    return CatalogPosition(level_min=topic.level_min, slug=topic.slug)


async def list_topics(
    *, level: CefrLevel | None, after: CatalogPosition | None, limit: int
) -> list[Topic]:
    """Active catalog topics (suited to ``level`` when given), easiest first, one page."""
    query = Topic.filter(active=True)
    if level is not None:
        # Two-character CEFR codes sort in level order, so string comparison is level comparison.
        query = query.filter(level_min__lte=level.value, level_max__gte=level.value)
    if after is not None:
        query = query.filter(
            Q(level_min__gt=after.level_min) | Q(level_min=after.level_min, slug__gt=after.slug)
        )
    return await query.order_by("level_min", "slug").limit(limit)


async def selected_for_users(user_ids: Sequence[UUID]) -> list[list[Topic]]:
    """Each learner's active chosen topics in the order chosen (a DataLoader batch function)."""
    rows = await (
        UserTopic.filter(user_id__in=list(user_ids), topic__active=True)
        .order_by("created_at", "id")
        .prefetch_related("topic")
    )
    chosen: dict[UUID, list[Topic]] = {uid: [] for uid in user_ids}
    for row in rows:
        chosen.setdefault(row.user_id, []).append(row.topic)
    return [chosen[uid] for uid in user_ids]


async def select_topics(*, user_id: UUID, topic_ids: Sequence[UUID]) -> list[Topic]:
    """Make ``topic_ids`` the learner's whole selection (an empty list clears it)."""
    wanted = list(dict.fromkeys(topic_ids))
    if len(wanted) > MAX_SELECTED:
        raise SelectTopicsRefused(
            SelectTopicsErrorCode.TOO_MANY_TOPICS,
            f"Choose at most {MAX_SELECTED} topics.",
            "topicIds",
        )
    found = {t.id: t for t in await Topic.filter(id__in=wanted, active=True)}
    if len(found) != len(wanted):
        raise SelectTopicsRefused(
            SelectTopicsErrorCode.TOPIC_NOT_FOUND,
            "One of the chosen topics does not exist or has been retired.",
            "topicIds",
        )
    async with in_transaction("default") as conn:
        await UserTopic.filter(user_id=user_id).exclude(topic_id__in=wanted).using_db(
            conn
        ).delete()
        # Kept rows keep their position; a concurrent identical request is absorbed.
        await UserTopic.bulk_create(
            [UserTopic(user_id=user_id, topic_id=tid) for tid in wanted],
            ignore_conflicts=True,
            using_db=conn,
        )
    return (await selected_for_users([user_id]))[0]


def slugify(title: str) -> str:
    """``"Job interview: tech roles"`` -> ``"job-interview-tech-roles"`` (ASCII, at most 64)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:64].rstrip("-")


def _clean(text: str) -> str:
    return " ".join(text.split())


async def add_topic(*, topic: NewTopic) -> Topic:
    """Add a topic to the catalog; its slug comes from the title and must be new."""
    title = _clean(topic.title)
    slug = slugify(title)
    if not 3 <= len(title) <= 120 or not slug:
        raise AddTopicRefused(
            AddTopicErrorCode.INVALID_TITLE, "Give a title of 3 to 120 characters.", "title"
        )
    description = _clean(topic.description)
    if not 10 <= len(description) <= 1000:
        raise AddTopicRefused(
            AddTopicErrorCode.INVALID_DESCRIPTION,
            "Give a description of 10 to 1000 characters.",
            "description",
        )
    instructions = topic.instructions.strip()
    if not 20 <= len(instructions) <= 4000:
        raise AddTopicRefused(
            AddTopicErrorCode.INVALID_INSTRUCTIONS,
            "Give coach instructions of 20 to 4000 characters.",
            "coachInstructions",
        )
    if topic.level_min.rank > topic.level_max.rank:
        raise AddTopicRefused(
            AddTopicErrorCode.INVALID_LEVEL_RANGE,
            "The highest level must not be below the lowest level.",
            "levelMax",
        )
    exists = AddTopicRefused(
        AddTopicErrorCode.TOPIC_EXISTS, "A topic with this title already exists.", "title"
    )
    if await Topic.filter(slug=slug).exists():
        raise exists
    try:
        return await Topic.create(
            slug=slug,
            title=title,
            description=description,
            level_min=topic.level_min.value,
            level_max=topic.level_max.value,
            instructions=instructions,
        )
    except IntegrityError:
        raise exists from None


async def retire_topic(*, topic_id: UUID) -> Topic:
    """Take a topic out of the catalog; retiring a retired topic changes nothing."""
    topic = await Topic.get_or_none(id=topic_id)
    if topic is None:
        raise RetireTopicRefused(RetireTopicErrorCode.TOPIC_NOT_FOUND, "No such topic.", "id")
    if topic.active:
        await Topic.filter(id=topic_id).update(active=False)
        topic.active = False
    return topic
