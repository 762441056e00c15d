"""Per-request DataLoaders: each batches one kind of lookup into a single query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from strawberry.dataloader import DataLoader

from db.models.accounts import User
from db.models.analysis import Analysis, Correction
from db.models.calls import TranscriptTurn
from db.models.topics import Topic

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def by_key(rows: Sequence[V], keys: Sequence[K], key: Callable[[V], K]) -> list[V | None]:
    """Order ``rows`` like ``keys`` (None where a key has no row)."""
    index = {key(row): row for row in rows}
    return [index.get(k) for k in keys]


def grouped(rows: Sequence[V], keys: Sequence[K], key: Callable[[V], K]) -> list[list[V]]:
    """Group ``rows`` under ``keys`` (an empty list where a key has none)."""
    groups: dict[K, list[V]] = {k: [] for k in keys}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    return [groups[k] for k in keys]


async def _users(keys: list[UUID]) -> list[User | None]:
    return by_key(await User.filter(id__in=keys), keys, lambda u: u.id)


class Loaders:
    """Created per request (never shared), so a cached row never leaks between callers."""

    def __init__(self) -> None:
        self._loaders: dict[str, DataLoader[Any, Any]] = {}

    def get(
        self, name: str, load_fn: Callable[[list[Any]], Awaitable[list[Any]]]
    ) -> DataLoader[Any, Any]:
        """The request's loader called ``name``, created on first use."""
        loader = self._loaders.get(name)
        if loader is None:
            loader = self._loaders[name] = DataLoader(load_fn=load_fn)
        return loader

    @property
    def users(self) -> DataLoader[UUID, User | None]:
        return self.get("users", _users)


async def transcript_turns_by_call(keys: list[UUID]) -> list[list[TranscriptTurn]]:
    """Each call's transcript turns, in spoken order."""
    rows = await TranscriptTurn.filter(call_id__in=keys).order_by("call_id", "seq")
    return grouped(rows, keys, lambda t: t.call_id)


async def topics_by_id(keys: list[UUID]) -> list[Topic | None]:
    """Topics by id, retired ones included (an old call keeps its topic)."""
    return by_key(await Topic.filter(id__in=keys), keys, lambda t: t.id)


async def analyses_by_call(keys: list[UUID]) -> list[Analysis | None]:
    """Each call's analysis (one per call), or None before the job first ran."""
    return by_key(await Analysis.filter(call_id__in=keys), keys, lambda a: a.call_id)


async def analyses_by_id(keys: list[UUID]) -> list[Analysis | None]:
    return by_key(await Analysis.filter(id__in=keys), keys, lambda a: a.id)


async def corrections_by_analysis(keys: list[UUID]) -> list[list[Correction]]:
    """Each analysis's corrections, in the order the analysis gave them."""
    rows = await Correction.filter(analysis_id__in=keys).order_by("id")
    return grouped(rows, keys, lambda c: c.analysis_id)
