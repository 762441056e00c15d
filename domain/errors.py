"""The base of every expected, typed failure a use case can report."""

from __future__ import annotations

from enum import Enum


class DomainError(Exception):
    """A refusal the caller can act on: a stable ``code``, a message and, for input, the field.

    The GraphQL layer maps each subclass to the mutation's own error type; anything that is not
    a ``DomainError`` is a bug and is masked as "Unexpected error." in responses.
    """

    def __init__(self, code: Enum, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class CommonErrorCode(Enum):
    """Codes any operation can answer with, whatever its own error enum says."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"


class AccessDenied(DomainError):
    """Raised when the principal may not run an operation at all."""
