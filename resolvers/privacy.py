"""Privacy resolvers: the learner's requests and rights, and the privacy policy."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay

from db.models.accounts import User as UserRow
from domain import consent, privacy, privacy_deletion, privacy_export, privacy_objection
from domain.principal import Role
from resolvers.context import Context, graphql_error
from schema.ids import BadId, decode_uuid
from schema.privacy import (
    AcceptPolicyError,
    AcceptPolicyResult,
    DataExportKind,
    Jurisdiction,
    PolicyVersion,
    PrivacyRequest,
    PrivacySettings,
    PublishPolicyVersionError,
    PublishPolicyVersionResult,
    RequestAccountDeletionError,
    RequestAccountDeletionResult,
    RequestDataExportError,
    RequestDataExportResult,
    SetPrivacyJurisdictionError,
    SetPrivacyJurisdictionResult,
    SetProcessingObjectionsError,
    SetProcessingObjectionsResult,
    SetProcessingRestrictionError,
    SetProcessingRestrictionResult,
)

Info = strawberry.Info[Context, None]
MAX_ROWS = 100


async def privacy_requests(
    info: Info,
    first: Annotated[int, strawberry.argument(description="How many, 1 to 100.")] = 50,
) -> list[PrivacyRequest]:
    principal = info.context.require_principal()
    if not 1 <= first <= MAX_ROWS:
        raise graphql_error(f"`first` must be between 1 and {MAX_ROWS}.", "BAD_USER_INPUT")
    rows = await privacy.list_requests(user_id=principal.user_id, limit=first)
    return [PrivacyRequest.from_model(r) for r in rows]


async def privacy_request(
    info: Info,
    id: Annotated[relay.GlobalID, strawberry.argument(description="The request's global ID.")],
) -> PrivacyRequest:
    principal = info.context.require_principal()
    try:
        request_id = decode_uuid(str(id), "PrivacyRequest")
    except BadId:
        raise graphql_error("No such privacy request.", "NOT_FOUND") from None
    row = await privacy.get_own_request(user_id=principal.user_id, request_id=request_id)
    if row is None:
        raise graphql_error("No such privacy request.", "NOT_FOUND")
    return PrivacyRequest.from_model(row)


async def privacy_settings(info: Info) -> PrivacySettings:
    principal = info.context.require_principal()
    return PrivacySettings.from_model(await UserRow.get(id=principal.user_id))


async def current_policy(info: Info) -> PolicyVersion:
    row = await consent.current_policy()
    principal = info.context.principal
    accepted = None if principal is None else await consent.has_accepted(
        user_id=principal.user_id, version=row.version)
    return PolicyVersion.from_model(row, accepted)


async def request_data_export(
    info: Info,
    kind: Annotated[DataExportKind, strawberry.argument(
        description="Which right you exercise; the export is the same.")
    ] = privacy_export.ExportKind.ACCESS,
) -> RequestDataExportResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        row = await privacy_export.request_data_export(
            effects=ctx.services.effects, user_id=principal.user_id, kind=kind, now=ctx.now
        )
    except privacy_export.RequestDataExportRefused as exc:
        return RequestDataExportError.from_refusal(exc)
    return PrivacyRequest.from_model(row)


async def request_account_deletion(
    info: Info,
    password: Annotated[str | None, strawberry.argument(
        description="Your password; omit for a Google-only account signed in within the "
        "last 10 minutes.")] = None,
) -> RequestAccountDeletionResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        row = await privacy_deletion.request_account_deletion(
            effects=ctx.services.effects, hasher=ctx.services.hasher,
            user_id=principal.user_id, password=password, now=ctx.now,
        )
    except privacy_deletion.RequestAccountDeletionRefused as exc:
        return RequestAccountDeletionError.from_refusal(exc)
    if ctx.response is not None:
        ctx.cookies.clear(ctx.response)
    return PrivacyRequest.from_model(row)


async def set_processing_objections(
    info: Info,
    analysis: Annotated[bool | None, strawberry.argument(
        description="True: no AI (Claude) analysis of your calls. Omit to leave as is.")] = None,
    service_improvement: Annotated[bool | None, strawberry.argument(
        description="True: your data is not used to improve the service. Omit to leave as "
        "is.")] = None,
) -> SetProcessingObjectionsResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        row = await privacy_objection.set_processing_objections(
            effects=ctx.services.effects, user_id=principal.user_id, analysis=analysis,
            service_improvement=service_improvement, now=ctx.now,
        )
    except privacy_objection.SetProcessingObjectionsRefused as exc:
        return SetProcessingObjectionsError.from_refusal(exc)
    return PrivacySettings.from_model(row)


async def set_processing_restriction(
    info: Info,
    restricted: Annotated[bool, strawberry.argument(
        description="True to restrict processing, false to lift the restriction.")],
    reason: Annotated[str | None, strawberry.argument(
        description="What you dispute (up to 1000 characters), for our records.")] = None,
) -> SetProcessingRestrictionResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        row = await privacy_objection.set_processing_restriction(
            effects=ctx.services.effects, user_id=principal.user_id, restricted=restricted,
            reason=reason, now=ctx.now,
        )
    except privacy_objection.SetProcessingRestrictionRefused as exc:
        return SetProcessingRestrictionError.from_refusal(exc)
    return PrivacySettings.from_model(row)


async def set_privacy_jurisdiction(
    info: Info,
    jurisdiction: Annotated[Jurisdiction, strawberry.argument(
        description="GDPR or KVKK.")],
) -> SetPrivacyJurisdictionResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        row = await privacy.set_jurisdiction(
            effects=ctx.services.effects, user_id=principal.user_id,
            jurisdiction=jurisdiction, now=ctx.now,
        )
    except privacy.SetJurisdictionRefused as exc:
        return SetPrivacyJurisdictionError.from_refusal(exc)
    return PrivacySettings.from_model(row)


async def accept_policy(
    info: Info,
    version: Annotated[str, strawberry.argument(
        description="The version you accept; must be `currentPolicy.version`.")],
) -> AcceptPolicyResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        row = await consent.accept_policy(
            effects=ctx.services.effects, user_id=principal.user_id, version=version, now=ctx.now
        )
    except consent.AcceptPolicyRefused as exc:
        return AcceptPolicyError.from_refusal(exc)
    return PolicyVersion.from_model(row, True)


async def publish_policy_version(
    info: Info,
    version: Annotated[str, strawberry.argument(description="New version number, e.g. 1.1.")],
    summary: Annotated[str, strawberry.argument(
        description="What changed, 1 to 2000 characters; sent to every learner.")],
) -> PublishPolicyVersionResult:
    ctx = info.context
    principal = ctx.require_role(Role.ADMIN)
    try:
        row = await consent.publish_policy_version(
            effects=ctx.services.effects, actor=privacy.Actor.of(principal), version=version,
            summary=summary, now=ctx.now,
        )
    except consent.PublishPolicyVersionRefused as exc:
        return PublishPolicyVersionError.from_refusal(exc)
    return PolicyVersion.from_model(row, None)


@strawberry.type
class PrivacyQuery:
    privacy_requests: list[PrivacyRequest] = strawberry.field(
        resolver=privacy_requests,
        description="The signed-in learner's own privacy requests, newest first (at most "
        "`first`, 1 to 100). Requires sign-in.",
    )
    privacy_request: PrivacyRequest = strawberry.field(
        resolver=privacy_request,
        description="One of the signed-in learner's own privacy requests; anyone else's is "
        "NOT_FOUND. Requires sign-in.",
    )
    privacy_settings: PrivacySettings = strawberry.field(
        resolver=privacy_settings,
        description="The learner's objections, restriction and jurisdiction. Requires sign-in.",
    )
    current_policy: PolicyVersion = strawberry.field(
        resolver=current_policy,
        description="The privacy policy version in force. Anyone may call.",
    )


@strawberry.type
class PrivacyMutation:
    request_data_export: RequestDataExportResult = strawberry.mutation(
        resolver=request_data_export,
        description="Ask for a machine-readable JSON copy of everything we hold about you "
        "(access or portability). At most one per 24 hours; `downloadUrl` appears on the "
        "request when it is ready. Requires sign-in.",
    )
    request_account_deletion: RequestAccountDeletionResult = strawberry.mutation(
        resolver=request_account_deletion,
        description="Close your account and delete your data now. Confirm with your password "
        "(Google-only accounts: sign in with Google within the last 10 minutes). Payment "
        "records are kept 10 years without your name. Signs you out everywhere. Requires "
        "sign-in.",
    )
    set_processing_objections: SetProcessingObjectionsResult = strawberry.mutation(
        resolver=set_processing_objections,
        description="Object (true) or stop objecting (false) to AI analysis of your calls "
        "and to use of your data for service improvement; omitted stay as they are. "
        "Requires sign-in.",
    )
    set_processing_restriction: SetProcessingRestrictionResult = strawberry.mutation(
        resolver=set_processing_restriction,
        description="Restrict processing while you dispute something (no calls, no analysis), "
        "or lift the restriction. Requires sign-in.",
    )
    set_privacy_jurisdiction: SetPrivacyJurisdictionResult = strawberry.mutation(
        resolver=set_privacy_jurisdiction,
        description="Choose the law your privacy requests are handled under (the default "
        "follows your phone number: KVKK for +90, else GDPR). Requires sign-in.",
    )
    accept_policy: AcceptPolicyResult = strawberry.mutation(
        resolver=accept_policy,
        description="Accept the current privacy policy version. Requires sign-in.",
    )
    publish_policy_version: PublishPolicyVersionResult = strawberry.mutation(
        resolver=publish_policy_version,
        description="Publish a new privacy policy version and email every active learner. "
        "Admin only.",
    )
