"""Sign-in sessions: password and Google sign-in, refresh rotation, revocation.

A session is a refresh-token family. Every refresh rotates the token; presenting a token that
was already rotated means it was copied, so the whole family is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from uuid import UUID

from db.models.accounts import RefreshToken, Session, User
from domain import consent, throttle
from domain.accounts import jurisdiction_for_phone, normalise_email
from domain.errors import DomainError
from domain.passwords import MAX_BYTES, PasswordHasher
from domain.principal import Principal, Role
from domain.tokens import AccessTokens, new_refresh_token, token_digest


class LoginErrorCode(Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    THROTTLED = "THROTTLED"


class LoginRefused(DomainError):
    def __init__(self, code: LoginErrorCode, message: str, retry_after_s: int | None = None):
        super().__init__(code, message)
        self.retry_after_s = retry_after_s


class RefreshErrorCode(Enum):
    INVALID_REFRESH_TOKEN = "INVALID_REFRESH_TOKEN"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"


class RefreshRefused(DomainError):
    pass


class RevokeSessionErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"


class RevokeSessionRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """The technical data of a sign-in (policy: IP, browser, device)."""

    ip: str | None
    user_agent: str | None

    @property
    def device(self) -> str | None:
        """A short human summary such as "Firefox on Linux", from the user agent."""
        ua = self.user_agent or ""
        if not ua:
            return None
        browser = next(
            (name for key, name in _BROWSERS if key in ua), ua.split("/", 1)[0][:40] or "Unknown"
        )
        system = next((name for key, name in _SYSTEMS if key in ua), None)
        return f"{browser} on {system}" if system else browser


_BROWSERS = (
    ("Edg/", "Edge"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("python-httpx", "httpx"),
    ("node", "Node.js"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


@dataclass(frozen=True, slots=True)
class SignIn:
    user: User
    session: Session
    access_token: str
    refresh_token: str
    access_expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    tokens: AccessTokens
    refresh_ttl: timedelta


async def start_session(
    *, policy: SessionPolicy, user: User, client: ClientInfo, method: str, now: datetime
) -> SignIn:
    """Open a new session (token family) for ``user`` and issue both tokens."""
    session = await Session.create(
        user=user,
        ip=client.ip,
        user_agent=(client.user_agent or "")[:512] or None,
        device=client.device,
        method=method,
        last_used_at=now,
        expires_at=now + policy.refresh_ttl,
    )
    return await _issue(policy=policy, user=user, session=session, now=now)


async def _issue(*, policy: SessionPolicy, user: User, session: Session, now: datetime) -> SignIn:
    refresh = new_refresh_token()
    await RefreshToken.create(token_hash=token_digest(refresh), session=session)
    return SignIn(
        user=user,
        session=session,
        access_token=policy.tokens.issue(user_id=user.id, session_id=session.id, now=now),
        refresh_token=refresh,
        access_expires_at=now + policy.tokens.ttl,
    )


async def login(
    *,
    policy: SessionPolicy,
    hasher: PasswordHasher,
    email: str,
    password: str,
    client: ClientInfo,
    now: datetime,
) -> SignIn:
    """Password sign-in, throttled per account and per IP."""
    normal = normalise_email(email) or email.strip().lower()
    keys = [throttle.account_key(normal), throttle.ip_key(client.ip)]
    wait = await throttle.reserve(keys, now)
    if wait is not None:
        seconds = max(1, int(wait.total_seconds() + 0.999))
        raise LoginRefused(
            LoginErrorCode.THROTTLED,
            f"Too many failed sign-in attempts. Try again in {seconds} "
            f"second{'s' if seconds != 1 else ''}.",
            retry_after_s=seconds,
        )
    user = await User.get_or_none(email=normal, status="active")
    too_long = len(password.encode("utf-8")) > MAX_BYTES
    ok = not too_long and await hasher.verify(password, user.password_hash if user else None)
    if user is None or not ok:  # the failure was counted by the reservation
        raise LoginRefused(LoginErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
    await throttle.clear(throttle.account_key(normal))
    await throttle.give_back(throttle.ip_key(client.ip))
    user.last_sign_in_at = now
    await user.save(update_fields=["last_sign_in_at"])
    return await start_session(policy=policy, user=user, client=client, method="password", now=now)


async def refresh(
    *, policy: SessionPolicy, refresh_token: str, client: ClientInfo, now: datetime
) -> SignIn:
    """Rotate a refresh token; a rotated token presented again revokes its whole family."""
    token = await RefreshToken.get_or_none(token_hash=token_digest(refresh_token)).prefetch_related(
        "session__user"
    )
    if token is None:
        raise RefreshRefused(RefreshErrorCode.INVALID_REFRESH_TOKEN, "Sign in again.")
    session = token.session
    if token.used_at is not None:
        await revoke(session_id=session.id, reason="refresh_reuse", now=now)
        raise RefreshRefused(
            RefreshErrorCode.REFRESH_TOKEN_REUSED,
            "This refresh token was already used; every session of its family was signed out.",
        )
    user = session.user
    if session.revoked_at is not None or session.expires_at <= now or user.status != "active":
        raise RefreshRefused(RefreshErrorCode.INVALID_REFRESH_TOKEN, "Sign in again.")
    marked = await RefreshToken.filter(token_hash=token.token_hash, used_at=None).update(
        used_at=now
    )
    if marked == 0:
        # A concurrent refresh won the race with the same token: treat as reuse.
        await revoke(session_id=session.id, reason="refresh_reuse", now=now)
        raise RefreshRefused(RefreshErrorCode.REFRESH_TOKEN_REUSED, "Sign in again.")
    session.last_used_at = now
    session.ip = client.ip or session.ip
    await session.save(update_fields=["last_used_at", "ip"])
    return await _issue(policy=policy, user=user, session=session, now=now)


async def revoke(*, session_id: UUID, reason: str, now: datetime) -> None:
    await Session.filter(id=session_id, revoked_at=None).update(
        revoked_at=now, revoked_reason=reason
    )


async def revoke_own(*, user_id: UUID, session_id: UUID, now: datetime) -> Session:
    """Revoke one of the learner's own sessions; someone else's is "not found"."""
    session = await Session.get_or_none(id=session_id, user_id=user_id)
    if session is None:
        raise RevokeSessionRefused(RevokeSessionErrorCode.NOT_FOUND, "No such session.", "id")
    await revoke(session_id=session.id, reason="user", now=now)
    await session.refresh_from_db()
    return session


async def revoke_all(*, user_id: UUID, reason: str, now: datetime) -> int:
    return await Session.filter(user_id=user_id, revoked_at=None).update(
        revoked_at=now, revoked_reason=reason
    )


async def list_sessions(*, user_id: UUID) -> list[Session]:
    return await Session.filter(user_id=user_id).order_by("-last_used_at")


async def authenticate(
    *, tokens: AccessTokens, access_token: str, now: datetime
) -> Principal | None:
    """The principal behind an access token, checked against a live session and account.

    Checking the session on every request is what makes sign-out, revocation and account
    closure take effect at once rather than when the 15-minute token expires.
    """
    claims = tokens.read(access_token, now=now)
    if claims is None:
        return None
    # One joined statement and no model objects: this runs before every request.
    row = await Session.filter(
        id=claims.session_id, user_id=claims.user_id, revoked_at=None, user__status="active"
    ).first().values_list("user__role")
    if row is None:
        return None
    return Principal(user_id=claims.user_id, role=Role(row[0]), session_id=claims.session_id)


@dataclass(frozen=True, slots=True)
class GoogleIdentity:
    sub: str
    email: str | None
    email_verified: bool
    name: str | None


class GoogleSignInErrorCode(Enum):
    EMAIL_NOT_VERIFIED = "EMAIL_NOT_VERIFIED"
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"


class GoogleSignInRefused(DomainError):
    pass


async def google_sign_in(
    *, policy: SessionPolicy, identity: GoogleIdentity, client: ClientInfo, now: datetime
) -> SignIn:
    """Sign in with Google, keyed on ``sub``.

    An existing password account is linked only through an email Google says is verified.
    """
    user = await User.get_or_none(google_sub=identity.sub)
    if user is None:
        email = normalise_email(identity.email or "")
        if email is None or not identity.email_verified:
            raise GoogleSignInRefused(
                GoogleSignInErrorCode.EMAIL_NOT_VERIFIED,
                "Google did not confirm this email address.",
            )
        user = await User.get_or_none(email=email)
        if user is not None:
            if user.status != "active":
                raise GoogleSignInRefused(
                    GoogleSignInErrorCode.ACCOUNT_CLOSED, "This account is closed."
                )
            user.google_sub = identity.sub
        else:
            user = User(
                email=email,
                full_name=identity.name,
                google_sub=identity.sub,
                policy_version=(await consent.current_policy()).version,
                jurisdiction=jurisdiction_for_phone(None),
            )
    if user.status != "active":
        raise GoogleSignInRefused(GoogleSignInErrorCode.ACCOUNT_CLOSED, "This account is closed.")
    is_new = not user._saved_in_db
    user.last_sign_in_at = now
    await user.save()
    if is_new and user.policy_version:
        await consent.record_acceptance(user_id=user.id, version=user.policy_version, now=now)
    return await start_session(policy=policy, user=user, client=client, method="google", now=now)
