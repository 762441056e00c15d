"""One transaction per use case, with its events and jobs written inside it (outbox).

Events reach the bus and workers are woken only after the commit, so nobody ever sees an
effect of a transaction that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionContext
from tortoise.timezone import now as db_now
from tortoise.transactions import in_transaction

from db.hot_writes import insert_event
from db.models.live import Event
from db.models.ops import Job
from domain.ports import EventPublisher, JobsNotifier, PublishedEvent


@dataclass(slots=True)
class Effects:
    """What a unit of work needs from the outside: where events and job wake-ups go."""

    publisher: EventPublisher
    jobs: JobsNotifier


@dataclass(slots=True)
class UnitOfWork:
    """``async with uow:`` opens the transaction; leaving it commits, then publishes."""

    effects: Effects
    _tx: TransactionContext | None = None
    conn: BaseDBAsyncClient | None = None
    _events: list[PublishedEvent] = field(default_factory=list)
    _jobs_added: bool = False

    async def __aenter__(self) -> UnitOfWork:
        self._tx = in_transaction("default")
        self.conn = await self._tx.__aenter__()
        self._events = []
        self._jobs_added = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._tx is not None
        await self._tx.__aexit__(exc_type, exc, tb)
        self._tx = None
        if exc_type is not None:
            return
        if self._events:
            await self.effects.publisher.publish(self._events)
        if self._jobs_added:
            self.effects.jobs.jobs_committed()

    async def emit(
        self,
        *,
        user_id: UUID,
        type: str,
        payload: dict[str, Any],
        call_id: UUID | None = None,
    ) -> PublishedEvent:
        """Append an event to the log inside this transaction; it is published after commit.

        One hand-written INSERT (db/hot_writes.py): every use case emits, webhooks several
        times a second per call, and the ORM's ``Event.create`` cost more than the statement.
        """
        assert self.conn is not None
        created_at = db_now()
        event_id = await insert_event(
            self.conn, user_id=user_id, call_id=call_id, type=type, payload=payload,
            created_at=created_at,
        )
        event = PublishedEvent(
            id=event_id, user_id=user_id, call_id=call_id, type=type, payload=payload,
            created_at=created_at,
        )
        self._events.append(event)
        return event

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        run_at: datetime,
        dedupe_key: str | None = None,
        max_attempts: int = 5,
    ) -> bool:
        """Queue a job inside this transaction; a job with the same dedupe key is kept once.

        Returns whether a new job was written.
        """
        if dedupe_key is not None and await Job.filter(dedupe_key=dedupe_key).using_db(
            self.conn
        ).exists():
            return False
        await Job.bulk_create(
            [
                Job(
                    kind=kind,
                    payload=payload,
                    run_at=run_at,
                    dedupe_key=dedupe_key,
                    max_attempts=max_attempts,
                )
            ],
            ignore_conflicts=True,
            using_db=self.conn,
        )
        self._jobs_added = True
        return True



def to_published(event: Event) -> PublishedEvent:
    return PublishedEvent(
        id=event.id,
        user_id=event.user_id,
        call_id=event.call_id,
        type=event.type,
        payload=event.payload,
        created_at=event.created_at,
    )
