"""The shared ``UserError`` interface and the one place domain errors become schema errors."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Protocol, Self, TypeVar

import strawberry

from domain.errors import DomainError


@strawberry.interface(
    description=(
        "An expected problem with a mutation: its input was invalid or the request was refused. "
        "Every mutation returns its payload or its own error type implementing this interface, "
        "with a `code` from that mutation's own error-code enum."
    )
)
class UserError:
    message: str = strawberry.field(description="A human-readable explanation, safe to show.")
    field: str | None = strawberry.field(
        description="The input field at fault (camelCase, as in the mutation's arguments), "
        "or null when the problem is not tied to one field."
    )


class _ErrorType(Protocol):
    def __init__(self, *, code: Any, message: str, field: str | None) -> None: ...


E = TypeVar("E", bound=_ErrorType)


def error_from(error_type: type[E], exc: DomainError) -> E:
    """Map a domain refusal to the mutation's error type (codes share names with the enum)."""
    return error_type(code=exc.code, message=exc.message, field=exc.field)


def enum_type(domain_enum: type[Enum], name: str, description: str,
              values: Mapping[str, str] | None = None) -> Any:
    """Expose a domain error-code enum in the schema under ``name``.

    ``values`` describes each member by name (the schema contract wants every enum value
    described; the domain enum cannot carry schema descriptions itself).
    """
    exposed = strawberry.enum(domain_enum, name=name, description=description)
    for value in exposed.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = (values or {}).get(value.name, value.description)
    return exposed


class FromRefusal(Protocol):
    @classmethod
    def from_refusal(cls, exc: DomainError) -> Self: ...
