"""Privacy in the schema: requests and their audit trail, processing settings, the policy."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Self, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from db.models.accounts import User as UserRow
from db.models.privacy import AuditLog as AuditRow
from db.models.privacy import PolicyVersion as PolicyRow
from db.models.privacy import PrivacyRequest as RequestRow
from domain import consent, privacy, privacy_deletion, privacy_export, privacy_objection
from resolvers.context import Context
from schema.errors import RefusalError, UserError, enum_type
from schema.ids import BadId, decode_uuid

if TYPE_CHECKING:  # the schema enums are the domain enums, registered under these names
    PrivacyRequestKind = privacy.RequestKind
    PrivacyRequestStatus = privacy.RequestStatus
    Jurisdiction = privacy.Jurisdiction
    DataExportKind = privacy_export.ExportKind
    RequestDataExportErrorCode = privacy_export.RequestDataExportErrorCode
    RequestAccountDeletionErrorCode = privacy_deletion.RequestAccountDeletionErrorCode
    SetProcessingObjectionsErrorCode = privacy_objection.SetProcessingObjectionsErrorCode
    SetProcessingRestrictionErrorCode = privacy_objection.SetProcessingRestrictionErrorCode
    SetPrivacyJurisdictionErrorCode = privacy.SetJurisdictionErrorCode
    AcceptPolicyErrorCode = consent.AcceptPolicyErrorCode
    PublishPolicyVersionErrorCode = consent.PublishPolicyVersionErrorCode
else:
    PrivacyRequestKind = enum_type(
        privacy.RequestKind, "PrivacyRequestKind",
        "Which right a privacy request exercises: ACCESS, PORTABILITY (both answered with a "
        "JSON export), CORRECTION, DELETION (account closure), OBJECTION, RESTRICTION.",
        values={
            "ACCESS": "A copy of the learner's data (right of access).",
            "PORTABILITY": "The learner's data in a machine-readable form to take elsewhere.",
            "CORRECTION": "A correction of profile data (from `updateProfile`).",
            "DELETION": "Account closure and erasure.",
            "OBJECTION": "An objection to processing (analysis, service improvement, a level).",
            "RESTRICTION": "Processing frozen while the learner disputes something.",
        },
    )
    PrivacyRequestStatus = enum_type(
        privacy.RequestStatus, "PrivacyRequestStatus",
        "RECEIVED, IN_PROGRESS (being carried out, or a restriction in force), COMPLETED, or "
        "REJECTED (could not be carried out; the audit trail says why).",
        values={
            "RECEIVED": "Recorded; not yet carried out.",
            "IN_PROGRESS": "Being carried out, or (restriction) in force.",
            "COMPLETED": "Done; see `completedAt`.",
            "REJECTED": "Could not be carried out; the audit trail says why.",
        },
    )
    Jurisdiction = enum_type(
        privacy.Jurisdiction, "Jurisdiction",
        "The data-protection law a request is handled under: GDPR (EU/UK) or KVKK (Turkey).",
        values={"GDPR": "The EU/UK General Data Protection Regulation.",
                "KVKK": "Turkey's Personal Data Protection Law No. 6698."},
    )
    DataExportKind = enum_type(
        privacy_export.ExportKind, "DataExportKind",
        "ACCESS (a copy of your data) or PORTABILITY (to take it elsewhere); same JSON file.",
        values={"ACCESS": "Right of access: a copy of your data.",
                "PORTABILITY": "Right to data portability: your data to take elsewhere."},
    )
    RequestDataExportErrorCode = enum_type(
        privacy_export.RequestDataExportErrorCode, "RequestDataExportErrorCode",
        "Why `requestDataExport` refused.",
        values={"RATE_LIMITED": "An export was already requested in the last 24 hours.",
                "ACCOUNT_CLOSED": "The account is closed."},
    )
    RequestAccountDeletionErrorCode = enum_type(
        privacy_deletion.RequestAccountDeletionErrorCode, "RequestAccountDeletionErrorCode",
        "Why `requestAccountDeletion` refused.",
        values={
            "PASSWORD_REQUIRED": "The account has a password: confirm with it.",
            "INVALID_CREDENTIALS": "The password is not correct.",
            "REAUTHENTICATION_REQUIRED": "Google-only account: sign in with Google again, "
            "then confirm within 10 minutes.",
            "THROTTLED": "Too many wrong passwords; try again later.",
            "ACCOUNT_CLOSED": "The account is already closed.",
        },
    )
    SetProcessingObjectionsErrorCode = enum_type(
        privacy_objection.SetProcessingObjectionsErrorCode, "SetProcessingObjectionsErrorCode",
        "Why `setProcessingObjections` refused.",
        values={"NOTHING_TO_CHANGE": "Neither `analysis` nor `serviceImprovement` was given.",
                "ACCOUNT_CLOSED": "The account is closed."},
    )
    SetProcessingRestrictionErrorCode = enum_type(
        privacy_objection.SetProcessingRestrictionErrorCode, "SetProcessingRestrictionErrorCode",
        "Why `setProcessingRestriction` refused.",
        values={"REASON_TOO_LONG": "The reason is longer than 1000 characters.",
                "ACCOUNT_CLOSED": "The account is closed."},
    )
    SetPrivacyJurisdictionErrorCode = enum_type(
        privacy.SetJurisdictionErrorCode, "SetPrivacyJurisdictionErrorCode",
        "Why `setPrivacyJurisdiction` refused.",
        values={"ACCOUNT_CLOSED": "The account is closed."},
    )
    AcceptPolicyErrorCode = enum_type(
        consent.AcceptPolicyErrorCode, "AcceptPolicyErrorCode", "Why `acceptPolicy` refused.",
        values={"NOT_CURRENT_VERSION": "Only the version in force can be accepted."},
    )
    PublishPolicyVersionErrorCode = enum_type(
        consent.PublishPolicyVersionErrorCode, "PublishPolicyVersionErrorCode",
        "Why `publishPolicyVersion` refused.",
        values={"INVALID_VERSION": "Not a version number such as 1.1 or 2.0.",
                "VERSION_EXISTS": "That version was already published.",
                "INVALID_SUMMARY": "The summary must be 1 to 2000 characters."},
    )

Info = strawberry.Info[Context, None]


def export_links(info: Info) -> privacy_export.ExportLinks:
    """Download links are keyed by a secret derived from the JWT secret (see privacy_export)."""
    settings = info.context.services.settings
    return privacy_export.ExportLinks.from_secret(
        str(settings.jwt_secret), base_url=settings.public_base_url
    )


@strawberry.type(description="One step in the handling of a privacy request.")
class PrivacyAuditEntry:
    at: datetime = strawberry.field(description="When it happened (UTC).")
    action: str = strawberry.field(
        description="What happened, e.g. `request.received`, `export.ready`, `account.closed`."
    )
    actor_role: str = strawberry.field(
        description="Who did it: learner, support, admin or system."
    )
    details: JSON = strawberry.field(
        description="Counts and facts about the step (never personal data)."
    )

    @classmethod
    def from_model(cls, row: AuditRow) -> Self:
        return cls(at=row.created_at, action=row.action, actor_role=row.actor_role,
                   details=cast(JSON, row.details or {}))


@strawberry.type(description="The balance an account held when it was closed, to be refunded.")
class ClosureBalance:
    amount_minor: int = strawberry.field(description="Balance at closure, in minor units.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")
    refund_due: bool = strawberry.field(description="True when the balance was positive.")


async def _audit_trail(
    root: PrivacyRequest, info: Info,
    first: Annotated[int, strawberry.argument(description="At most this many steps.")] = 100,
) -> list[PrivacyAuditEntry]:
    rows = await info.context.loaders.get("privacy_audit", privacy.audit_trails).load(root.row.id)
    return [PrivacyAuditEntry.from_model(r) for r in rows[:max(first, 0)]]


async def _download(root: PrivacyRequest, info: Info) -> tuple[str, datetime] | None:
    principal = info.context.principal
    if root.row.kind not in privacy_export.EXPORT_KINDS or principal is None or (
        principal.user_id != root.row.user_id
    ):
        return None
    links, now = export_links(info), info.context.now

    async def load(ids: list[Any]) -> list[tuple[str, datetime] | None]:
        return await privacy_export.download_links(links=links, request_ids=ids, now=now)

    result: tuple[str, datetime] | None = await info.context.loaders.get(
        "privacy_download", load).load(root.row.id)
    return result


async def _download_url(root: PrivacyRequest, info: Info) -> str | None:
    found = await _download(root, info)
    return found[0] if found else None


async def _download_expires_at(root: PrivacyRequest, info: Info) -> datetime | None:
    found = await _download(root, info)
    return found[1] if found else None


@strawberry.type(
    description="A privacy request (a right under the policy, GDPR or KVKK), with its 30-day "
    "due date and audit trail. Readable by the learner who made it, and by support in "
    "`supportPrivacyRequests` (without the download link)."
)
class PrivacyRequest(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[RequestRow]
    kind: PrivacyRequestKind = strawberry.field(description="Which right it exercises.")
    jurisdiction: Jurisdiction = strawberry.field(description="The law it is handled under.")
    status: PrivacyRequestStatus = strawberry.field(description="Where it is.")
    received_at: datetime = strawberry.field(description="When we received it (UTC).")
    due_at: datetime = strawberry.field(description="When we must answer by: received + 30 days.")
    completed_at: datetime | None = strawberry.field(description="When it was completed.")
    balance_at_closure: ClosureBalance | None = strawberry.field(
        description="DELETION only: the balance held at closure; support refunds a positive one."
    )
    download_url: str | None = strawberry.field(
        resolver=_download_url,
        description="ACCESS/PORTABILITY: the JSON export, once ready. Works once, only for you "
        "while signed in, until `downloadExpiresAt`; null before it is ready and after.",
    )
    download_expires_at: datetime | None = strawberry.field(
        resolver=_download_expires_at, description="When `downloadUrl` stops working."
    )
    audit_trail: list[PrivacyAuditEntry] = strawberry.field(
        resolver=_audit_trail,
        description="The steps taken on this request, oldest first (the first `first`).",
    )

    @classmethod
    def from_model(cls, row: RequestRow) -> Self:
        balance = (row.details or {}).get("balanceAtClosure")
        return cls(
            id=str(row.id), row=row, kind=privacy.RequestKind(row.kind),
            jurisdiction=privacy.Jurisdiction(row.jurisdiction),
            status=privacy.RequestStatus(row.status), received_at=row.received_at,
            due_at=row.due_at, completed_at=row.completed_at,
            balance_at_closure=None if not balance else ClosureBalance(
                amount_minor=balance["amountMinor"], currency=balance["currency"],
                refund_due=balance["amountMinor"] > 0,
            ),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Any, required: bool = False
    ) -> list[Self | None]:
        """``node(id:)``: the caller's own request, else null (never reveals another's)."""
        principal = info.context.principal
        out: list[Self | None] = []
        for node_id in node_ids:
            try:
                request_id = decode_uuid(str(relay.GlobalID("PrivacyRequest", node_id)),
                                         "PrivacyRequest")
            except BadId:
                out.append(None)
                continue
            row = None if principal is None else await privacy.get_own_request(
                user_id=principal.user_id, request_id=request_id)
            out.append(cls.from_model(row) if row else None)
        return out


@strawberry.type(description="What the learner allows us to do with their data.")
class PrivacySettings:
    objects_to_analysis: bool = strawberry.field(
        description="True: no call is sent to Claude for analysis."
    )
    objects_to_service_improvement: bool = strawberry.field(
        description="True: the learner's data is not used to improve the service."
    )
    processing_restricted: bool = strawberry.field(
        description="True while the learner disputes something: no calls, no analysis."
    )
    jurisdiction: Jurisdiction = strawberry.field(description="The law requests follow.")

    @classmethod
    def from_model(cls, row: UserRow) -> Self:
        return cls(
            objects_to_analysis=row.objects_to_analysis,
            objects_to_service_improvement=row.objects_to_service_improvement,
            processing_restricted=row.processing_restricted,
            jurisdiction=privacy.jurisdiction_of(row),
        )


@strawberry.type(description="A version of the privacy policy.")
class PolicyVersion:
    version: str = strawberry.field(description="Version number, e.g. 1.0.")
    published_at: datetime = strawberry.field(description="When it took effect (UTC).")
    summary: str = strawberry.field(description="What changed in this version.")
    accepted_by_me: bool | None = strawberry.field(
        description="Whether the signed-in learner accepted it; null when signed out."
    )

    @classmethod
    def from_model(cls, row: PolicyRow, accepted: bool | None) -> Self:
        return cls(version=row.version, published_at=row.published_at, summary=row.summary,
                   accepted_by_me=accepted)


@strawberry.type(description="`requestDataExport` refused.")
class RequestDataExportError(RefusalError, UserError):
    code: RequestDataExportErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`requestAccountDeletion` refused; nothing was deleted.")
class RequestAccountDeletionError(RefusalError, UserError):
    code: RequestAccountDeletionErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`setProcessingObjections` refused.")
class SetProcessingObjectionsError(RefusalError, UserError):
    code: SetProcessingObjectionsErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`setProcessingRestriction` refused.")
class SetProcessingRestrictionError(RefusalError, UserError):
    code: SetProcessingRestrictionErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`setPrivacyJurisdiction` refused.")
class SetPrivacyJurisdictionError(RefusalError, UserError):
    code: SetPrivacyJurisdictionErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`acceptPolicy` refused.")
class AcceptPolicyError(RefusalError, UserError):
    code: AcceptPolicyErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`publishPolicyVersion` refused.")
class PublishPolicyVersionError(RefusalError, UserError):
    code: PublishPolicyVersionErrorCode = strawberry.field(description="Why it was refused.")


RequestDataExportResult = Annotated[
    PrivacyRequest | RequestDataExportError,
    strawberry.union("RequestDataExportResult", description="The new request, or why not."),
]
RequestAccountDeletionResult = Annotated[
    PrivacyRequest | RequestAccountDeletionError,
    strawberry.union("RequestAccountDeletionResult",
                     description="The deletion request (the account is closed), or why not."),
]
SetProcessingObjectionsResult = Annotated[
    PrivacySettings | SetProcessingObjectionsError,
    strawberry.union("SetProcessingObjectionsResult", description="The new settings, or why not."),
]
SetProcessingRestrictionResult = Annotated[
    PrivacySettings | SetProcessingRestrictionError,
    strawberry.union("SetProcessingRestrictionResult",
                     description="The new settings, or why not."),
]
SetPrivacyJurisdictionResult = Annotated[
    PrivacySettings | SetPrivacyJurisdictionError,
    strawberry.union("SetPrivacyJurisdictionResult", description="The new settings, or why not."),
]
AcceptPolicyResult = Annotated[
    PolicyVersion | AcceptPolicyError,
    strawberry.union("AcceptPolicyResult", description="The accepted version, or why not."),
]
PublishPolicyVersionResult = Annotated[
    PolicyVersion | PublishPolicyVersionError,
    strawberry.union("PublishPolicyVersionResult",
                     description="The published version, or why not."),
]
