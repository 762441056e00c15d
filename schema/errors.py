"""The shared ``UserError`` interface and the one place domain errors become schema errors."""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, Self

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


class RefusalError:
    """Mixed into every ``<Op>Error`` type: the one place a domain refusal becomes its error.

    The domain's ``<Op>ErrorCode`` enum is the schema enum itself (``enum_type`` registers it in
    place), so the refusal's code is already a value of the error type's ``code`` field.
    """

    @classmethod
    def from_refusal(cls, exc: DomainError) -> Self:
        return cls(code=exc.code, message=exc.message, field=exc.field)  # type: ignore[call-arg]


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
