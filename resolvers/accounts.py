"""Account resolvers: sign-up, sign-in, sessions and profile corrections."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import accounts, sessions
from resolvers.context import Context
from schema.accounts import (
    ChangePasswordError,
    ChangePasswordResult,
    LoginError,
    LoginResult,
    RefreshSessionError,
    RefreshSessionResult,
    RegisterError,
    RegisterInput,
    RegisterResult,
    RevokeSessionError,
    RevokeSessionResult,
    Session,
    SignInPayload,
    TokenDelivery,
    UpdateProfileError,
    UpdateProfileInput,
    UpdateProfileResult,
    User,
)
from schema.ids import BadId, decode_uuid

Info = strawberry.Info[Context, None]

Delivery = Annotated[
    TokenDelivery,
    strawberry.argument(description="COOKIE (default) or BODY to also get the refresh token."),
]


def _signed_in(info: Info, sign_in: sessions.SignIn, delivery: TokenDelivery) -> SignInPayload:
    if info.context.response is not None:
        info.context.cookies.set_sign_in(info.context.response, sign_in)
    return SignInPayload.from_sign_in(sign_in, body_refresh=delivery is TokenDelivery.BODY)


async def me(info: Info) -> User | None:
    if info.context.principal is None:
        return None
    row = await info.context.loaders.users.load(info.context.principal.user_id)
    return User.from_model(row) if row is not None else None


async def my_sessions(info: Info) -> list[Session]:
    principal = info.context.require_principal()
    rows = await sessions.list_sessions(user_id=principal.user_id)
    return [Session.from_model(r, current_id=principal.session_id) for r in rows]


async def register(
    info: Info,
    input: Annotated[RegisterInput, strawberry.argument(description="The new learner's details.")],
    token_delivery: Delivery = TokenDelivery.COOKIE,
) -> RegisterResult:
    ctx = info.context
    try:
        user = await accounts.register(
            hasher=ctx.services.hasher,
            full_name=input.full_name,
            email=input.email,
            phone=input.phone,
            password=input.password,
            now=ctx.now,
        )
    except accounts.RegisterRefused as exc:
        return RegisterError.from_refusal(exc)
    sign_in = await sessions.start_session(
        policy=ctx.services.session_policy,
        user=user,
        client=ctx.client,
        method="password",
        now=ctx.now,
    )
    return _signed_in(info, sign_in, token_delivery)


async def login(
    info: Info,
    email: Annotated[str, strawberry.argument(description="Email address, any letter case.")],
    password: Annotated[str, strawberry.argument(description="The account's password.")],
    token_delivery: Delivery = TokenDelivery.COOKIE,
) -> LoginResult:
    ctx = info.context
    try:
        sign_in = await sessions.login(
            policy=ctx.services.session_policy,
            hasher=ctx.services.hasher,
            email=email,
            password=password,
            client=ctx.client,
            now=ctx.now,
        )
    except sessions.LoginRefused as exc:
        return LoginError.from_refusal(exc)
    return _signed_in(info, sign_in, token_delivery)


async def refresh_session(
    info: Info,
    refresh_token: Annotated[
        str | None,
        strawberry.argument(description="The refresh token; omit it to use the cf_refresh cookie."),
    ] = None,
    token_delivery: Delivery = TokenDelivery.COOKIE,
) -> RefreshSessionResult:
    ctx = info.context
    token = refresh_token or ctx.refresh_cookie
    if not token:
        return RefreshSessionError(
            code=sessions.RefreshErrorCode.INVALID_REFRESH_TOKEN,
            message="No refresh token: sign in again.",
            field=None,
        )
    try:
        sign_in = await sessions.refresh(
            policy=ctx.services.session_policy,
            refresh_token=token,
            client=ctx.client,
            now=ctx.now,
        )
    except sessions.RefreshRefused as exc:
        if ctx.response is not None:
            ctx.cookies.clear(ctx.response)
        return RefreshSessionError.from_refusal(exc)
    return _signed_in(info, sign_in, token_delivery)


async def logout(info: Info) -> bool:
    ctx = info.context
    if ctx.response is not None:
        ctx.cookies.clear(ctx.response)
    if ctx.principal is None or ctx.principal.session_id is None:
        return False
    await sessions.revoke(session_id=ctx.principal.session_id, reason="logout", now=ctx.now)
    return True


async def update_profile(
    info: Info,
    input: Annotated[UpdateProfileInput, strawberry.argument(description="The fields to correct.")],
) -> UpdateProfileResult:
    principal = info.context.require_principal()
    change = accounts.ProfileChange(
        full_name=input.full_name, phone=input.phone, timezone=input.timezone
    )
    try:
        row = await accounts.update_profile(
            effects=info.context.services.effects,
            user_id=principal.user_id,
            change=change,
            now=info.context.now,
        )
    except accounts.UpdateProfileRefused as exc:
        return UpdateProfileError.from_refusal(exc)
    return User.from_model(row)


async def change_password(
    info: Info,
    current_password: Annotated[
        str,
        strawberry.argument(description="The password now in use (any value when none is set)."),
    ],
    new_password: Annotated[str, strawberry.argument(description="8 to 72 bytes.")],
) -> ChangePasswordResult:
    principal = info.context.require_principal()
    try:
        row = await accounts.change_password(
            hasher=info.context.services.hasher,
            user_id=principal.user_id,
            current_password=current_password,
            new_password=new_password,
        )
    except accounts.ChangePasswordRefused as exc:
        return ChangePasswordError.from_refusal(exc)
    return User.from_model(row)


async def revoke_session(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="The session to sign out.")],
) -> RevokeSessionResult:
    ctx = info.context
    principal = ctx.require_principal()
    try:
        session_id = decode_uuid(str(id), "Session")
        row = await sessions.revoke_own(
            user_id=principal.user_id, session_id=session_id, now=ctx.now
        )
    except BadId:
        return RevokeSessionError(
            code=sessions.RevokeSessionErrorCode.NOT_FOUND, message="No such session.", field="id"
        )
    except sessions.RevokeSessionRefused as exc:
        return RevokeSessionError.from_refusal(exc)
    return Session.from_model(row, current_id=principal.session_id)


@strawberry.type
class AccountsQuery:
    me: User | None = strawberry.field(
        resolver=me, description="The signed-in learner, or null when signed out. Anyone may call."
    )
    sessions: list[Session] = strawberry.field(
        resolver=my_sessions,
        description="The signed-in learner's own sign-ins, most recently used first. "
        "Requires sign-in.",
    )


@strawberry.type
class AccountsMutation:
    register: RegisterResult = strawberry.mutation(
        resolver=register,
        description="Create a learner account and sign in (sets the auth cookies). "
        "Anyone may call.",
    )
    login: LoginResult = strawberry.mutation(
        resolver=login,
        description="Sign in with email and password (sets the auth cookies). Throttled per "
        "account and per IP. Anyone may call.",
    )
    refresh_session: RefreshSessionResult = strawberry.mutation(
        resolver=refresh_session,
        description="Rotate the refresh token (from the cookie, or the argument for non-browser "
        "clients) and issue a new access token. Reusing a rotated token signs out its family.",
    )
    logout: bool = strawberry.mutation(
        resolver=logout,
        description="End the current session and clear the auth cookies. Returns whether a "
        "session was ended.",
    )
    update_profile: UpdateProfileResult = strawberry.mutation(
        resolver=update_profile,
        description="Correct the learner's own profile (right to correction). Requires sign-in.",
    )
    change_password: ChangePasswordResult = strawberry.mutation(
        resolver=change_password,
        description="Change the learner's password. Requires sign-in and the current password.",
    )
    revoke_session: RevokeSessionResult = strawberry.mutation(
        resolver=revoke_session,
        description="Sign out one of the learner's own sessions. Requires sign-in.",
    )
