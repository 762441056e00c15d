"""Accounts in the schema: the learner, sessions, sign-in payloads and their errors."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry
from strawberry import relay

from db.models.accounts import Session as SessionRow
from db.models.accounts import User as UserRow
from domain import accounts, billing, plans, sessions, topics
from domain.errors import DomainError
from schema.billing import Balance
from schema.cefr import CefrLevel
from schema.errors import RefusalError, UserError, enum_type
from schema.plans import CallPlan, Preferences

if TYPE_CHECKING:
    from schema.topics import Topic


@strawberry.enum(description="What a person may do in CallFluently.")
class Role(Enum):
    LEARNER = strawberry.enum_value(
        "learner", description="A learner: reads and changes only their own data."
    )
    SUPPORT = strawberry.enum_value(
        "support",
        description="Support staff: audited reads, with a reason, of learners' calls.",
    )
    ADMIN = strawberry.enum_value(
        "admin", description="Administrator: manages topics, policy versions and persisted queries."
    )


@strawberry.enum(description="Whether an account can be used.")
class AccountStatus(Enum):
    ACTIVE = strawberry.enum_value("active", description="The account can sign in and be used.")
    CLOSED = strawberry.enum_value(
        "closed",
        description="Closed at the learner's request: cannot sign in; data deleted per the "
        "privacy policy.",
    )


async def _balance(root: User, info: strawberry.Info[Any, None]) -> Balance:
    """One batched balance query per request, however many users the response holds."""
    currency = info.context.services.settings.currency
    loader = info.context.loaders.get("balances", partial(billing.balances_of, currency=currency))
    return Balance.from_money(await loader.load(root.row.account_ref))


async def _topics(
    root: User, info: strawberry.Info[Any, None]
) -> list[Annotated[Topic, strawberry.lazy("schema.topics")]]:
    from schema.topics import Topic  # schema.topics imports User: selectTopics returns it

    loader = info.context.loaders.get("selected_topics", topics.selected_for_users)
    return [Topic.from_model(row) for row in await loader.load(root.row.id)]


async def _call_plan(root: User, info: strawberry.Info[Any, None]) -> CallPlan | None:
    row = await info.context.loaders.get("call_plans", plans.plans_for_users).load(root.row.id)
    return CallPlan.from_model(row, now=info.context.now) if row is not None else None


async def _preferences(root: User, info: strawberry.Info[Any, None]) -> Preferences:
    loader = info.context.loaders.get("preferences", plans.preferences_for_users)
    return Preferences.from_model(await loader.load(root.row.id))


@strawberry.type(description="A learner's account and profile. Readable only by its owner.")
class User(relay.Node):
    id: relay.NodeID[str]
    row: strawberry.Private[UserRow]
    full_name: str | None = strawberry.field(description="Full name as the learner gave it.")
    email: str | None = strawberry.field(description="Email address, lower-cased.")
    phone: str | None = strawberry.field(
        description="Phone number in E.164 form, e.g. +905321234567."
    )
    timezone: str = strawberry.field(description="IANA timezone used for call plans and streaks.")
    role: Role = strawberry.field(description="The account's role.")
    status: AccountStatus = strawberry.field(description="ACTIVE, or CLOSED after deletion.")
    has_password: bool = strawberry.field(description="False for Google-only accounts.")
    google_linked: bool = strawberry.field(description="Whether Google sign-in is linked.")
    policy_version: str | None = strawberry.field(
        description="Version of the privacy policy the learner last accepted."
    )
    created_at: datetime = strawberry.field(description="When the account was created (UTC).")
    cefr_level: CefrLevel | None = strawberry.field(
        description="The learner's current CEFR level as assessed from their calls; null "
        "before the first assessment."
    )
    topics: list[Annotated[Topic, strawberry.lazy("schema.topics")]] = strawberry.field(
        resolver=_topics,
        description="The topics the learner chose for their calls, in the order chosen. "
        "Retired topics drop out.",
    )
    call_plan: CallPlan | None = strawberry.field(
        resolver=_call_plan,
        description="When the coach calls the learner on their own; null until one is set.",
    )
    preferences: Preferences = strawberry.field(
        resolver=_preferences,
        description="How the coach talks on the learner's calls (defaults until changed).",
    )

    balance: Balance = strawberry.field(
        resolver=_balance,
        description="The prepaid balance calls are paid from (negative after a refund or "
        "dispute took back money already spent).",
    )

    @classmethod
    def from_model(cls, row: UserRow) -> Self:
        return cls(
            id=str(row.id),
            row=row,
            full_name=row.full_name,
            email=row.email,
            phone=row.phone,
            timezone=row.timezone,
            role=Role(row.role),
            status=AccountStatus(row.status),
            has_password=row.password_hash is not None,
            google_linked=row.google_sub is not None,
            policy_version=row.policy_version,
            created_at=row.created_at,
            cefr_level=CefrLevel(row.cefr_level) if row.cefr_level else None,
        )


@strawberry.type(
    description="One sign-in (a refresh-token family) with the technical data the privacy "
    "policy says we keep for security: IP address, browser and device."
)
class Session(relay.Node):
    id: relay.NodeID[str]
    ip: str | None = strawberry.field(description="IP address seen at sign-in or last refresh.")
    user_agent: str | None = strawberry.field(description="Browser user agent at sign-in.")
    device: str | None = strawberry.field(
        description="Short device summary, e.g. 'Chrome on macOS'."
    )
    method: str = strawberry.field(description="How the learner signed in: password or google.")
    created_at: datetime = strawberry.field(description="When the session started.")
    last_used_at: datetime = strawberry.field(description="Last sign-in or refresh.")
    expires_at: datetime = strawberry.field(description="When the refresh token family expires.")
    revoked_at: datetime | None = strawberry.field(description="When it was signed out, if it was.")
    current: bool = strawberry.field(description="Whether this is the session making the request.")

    @classmethod
    def from_model(cls, row: SessionRow, *, current_id: object = None) -> Self:
        return cls(
            id=str(row.id),
            ip=row.ip,
            user_agent=row.user_agent,
            device=row.device,
            method=row.method,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            current=row.id == current_id,
        )


@strawberry.enum(description="How `register`, `login` and `refreshSession` hand out tokens.")
class TokenDelivery(Enum):
    COOKIE = strawberry.enum_value(
        "cookie", description="Refresh token only as an httpOnly cookie (browsers)."
    )
    BODY = strawberry.enum_value(
        "body", description="Refresh token also in the response body (mobile and server clients)."
    )


@strawberry.type(
    description="A successful sign-in. The access and refresh tokens are set as httpOnly "
    "cookies; `accessToken` is also returned for `Authorization: Bearer` clients."
)
class SignInPayload:
    user: User = strawberry.field(description="The signed-in learner.")
    session: Session = strawberry.field(description="The session this sign-in opened or renewed.")
    access_token: str = strawberry.field(description="JWT access token, valid for 15 minutes.")
    access_token_expires_at: datetime = strawberry.field(description="Expiry of `accessToken`.")
    refresh_token: str | None = strawberry.field(
        description="The refresh token, only when `tokenDelivery: BODY` was asked for (mobile "
        "and server clients); browsers get it only as an httpOnly cookie."
    )

    @classmethod
    def from_sign_in(cls, sign_in: sessions.SignIn, *, body_refresh: bool) -> Self:
        return cls(
            user=User.from_model(sign_in.user),
            session=Session.from_model(sign_in.session, current_id=sign_in.session.id),
            access_token=sign_in.access_token,
            access_token_expires_at=sign_in.access_expires_at,
            refresh_token=sign_in.refresh_token if body_refresh else None,
        )


_INVALID_PHONE = "The phone number is not a valid international number (with country code)."
_INVALID_NAME = "The full name is empty or longer than 200 characters."
_INVALID_PASSWORD = "The password is shorter than 8 or longer than 72 bytes."

enum_type(
    accounts.RegisterErrorCode,
    "RegisterErrorCode",
    "Why `register` refused.",
    values={
        "INVALID_EMAIL": "The email address is not valid.",
        "EMAIL_TAKEN": "An account with this email (in any letter case) already exists.",
        "INVALID_PHONE": _INVALID_PHONE,
        "INVALID_PASSWORD": _INVALID_PASSWORD,
        "INVALID_NAME": _INVALID_NAME,
    },
)
enum_type(
    sessions.LoginErrorCode,
    "LoginErrorCode",
    "Why `login` refused.",
    values={
        "INVALID_CREDENTIALS": "Email or password is wrong (never says which).",
        "THROTTLED": "Too many failures for this account or IP; see `retryAfterSeconds`.",
    },
)
enum_type(
    sessions.RefreshErrorCode,
    "RefreshSessionErrorCode",
    "Why `refreshSession` refused.",
    values={
        "INVALID_REFRESH_TOKEN": "No, unknown, expired or revoked refresh token.",
        "REFRESH_TOKEN_REUSED": "A rotated token was presented again: its family is signed out.",
    },
)
enum_type(
    accounts.UpdateProfileErrorCode,
    "UpdateProfileErrorCode",
    "Why `updateProfile` refused.",
    values={
        "INVALID_PHONE": _INVALID_PHONE,
        "INVALID_NAME": _INVALID_NAME,
        "INVALID_TIMEZONE": "Not an IANA timezone name such as Europe/Istanbul.",
    },
)
enum_type(
    accounts.ChangePasswordErrorCode,
    "ChangePasswordErrorCode",
    "Why `changePassword` refused.",
    values={
        "INVALID_CREDENTIALS": "The current password is wrong.",
        "INVALID_PASSWORD": _INVALID_PASSWORD,
    },
)
enum_type(
    sessions.RevokeSessionErrorCode,
    "RevokeSessionErrorCode",
    "Why `revokeSession` refused.",
    values={"NOT_FOUND": "No session with this ID belongs to the signed-in learner."},
)

# enum_type registers the schema definition on the domain enums themselves.
RegisterErrorCode = accounts.RegisterErrorCode
LoginErrorCode = sessions.LoginErrorCode
RefreshSessionErrorCode = sessions.RefreshErrorCode
UpdateProfileErrorCode = accounts.UpdateProfileErrorCode
ChangePasswordErrorCode = accounts.ChangePasswordErrorCode
RevokeSessionErrorCode = sessions.RevokeSessionErrorCode


@strawberry.type(description="`register` refused: see `code` and `field`.")
class RegisterError(RefusalError, UserError):
    code: RegisterErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(
    description="`login` refused. The message never says which of email or password was wrong."
)
class LoginError(RefusalError, UserError):
    code: LoginErrorCode = strawberry.field(description="Why it was refused.")
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="With THROTTLED: seconds until the next attempt is accepted."
    )

    @classmethod
    def from_refusal(cls, exc: DomainError) -> Self:
        retry = exc.retry_after_s if isinstance(exc, sessions.LoginRefused) else None
        return cls(
            code=LoginErrorCode(exc.code.value),
            message=exc.message,
            field=exc.field,
            retry_after_seconds=retry,
        )


@strawberry.type(description="`refreshSession` refused; sign in again.")
class RefreshSessionError(RefusalError, UserError):
    code: RefreshSessionErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`updateProfile` refused: see `code` and `field`.")
class UpdateProfileError(RefusalError, UserError):
    code: UpdateProfileErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`changePassword` refused: see `code` and `field`.")
class ChangePasswordError(RefusalError, UserError):
    code: ChangePasswordErrorCode = strawberry.field(description="Why it was refused.")


@strawberry.type(description="`revokeSession` refused.")
class RevokeSessionError(RefusalError, UserError):
    code: RevokeSessionErrorCode = strawberry.field(description="Why it was refused.")


RegisterResult = Annotated[
    SignInPayload | RegisterError,
    strawberry.union("RegisterResult", description="The new learner, signed in, or why not."),
]
LoginResult = Annotated[
    SignInPayload | LoginError,
    strawberry.union("LoginResult", description="The signed-in learner, or why not."),
]
RefreshSessionResult = Annotated[
    SignInPayload | RefreshSessionError,
    strawberry.union("RefreshSessionResult", description="Fresh tokens, or why not."),
]
UpdateProfileResult = Annotated[
    User | UpdateProfileError,
    strawberry.union("UpdateProfileResult", description="The corrected profile, or why not."),
]
ChangePasswordResult = Annotated[
    User | ChangePasswordError,
    strawberry.union("ChangePasswordResult", description="The learner, or why not."),
]
RevokeSessionResult = Annotated[
    Session | RevokeSessionError,
    strawberry.union("RevokeSessionResult", description="The revoked session, or why not."),
]


@strawberry.input(description="A new learner's details.")
class RegisterInput:
    full_name: str = strawberry.field(description="Full name, 1–200 characters.")
    email: str = strawberry.field(description="Email address; unique whatever its case.")
    phone: str = strawberry.field(
        description="Phone number with country code; stored in E.164 form."
    )
    password: str = strawberry.field(description="8 to 72 bytes (bcrypt's limit).")


@strawberry.input(description="Profile fields to correct; omitted fields stay as they are.")
class UpdateProfileInput:
    full_name: str | None = strawberry.field(default=None, description="New full name.")
    phone: str | None = strawberry.field(default=None, description="New phone number.")
    timezone: str | None = strawberry.field(default=None, description="IANA timezone name.")
