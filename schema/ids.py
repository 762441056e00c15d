"""Global Relay IDs: ``base64("TypeName:uuid")``, opaque to clients, decoded here only."""

from __future__ import annotations

from uuid import UUID

from strawberry import relay


class BadId(ValueError):
    """An ID that is malformed or names another type."""


def encode(type_name: str, node_id: object) -> str:
    return str(relay.GlobalID(type_name, str(node_id)))


def decode_uuid(value: str, type_name: str) -> UUID:
    """The UUID inside a global ID of ``type_name``; raises BadId for anything else."""
    try:
        gid = relay.GlobalID.from_id(value)
        if gid.type_name != type_name:
            raise BadId(f"Expected a {type_name} ID.")
        return UUID(gid.node_id)
    except (ValueError, TypeError) as exc:
        raise BadId(f"Not a valid {type_name} ID.") from exc
