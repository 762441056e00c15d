"""Learner accounts: registration and the correction right (profile and password changes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from tortoise.exceptions import IntegrityError

from db.models.accounts import User
from domain import consent, privacy
from domain.errors import DomainError
from domain.passwords import PasswordHasher, password_problem
from domain.uow import Effects, UnitOfWork

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENT_POLICY_VERSION = "1.0"


class RegisterErrorCode(Enum):
    INVALID_EMAIL = "INVALID_EMAIL"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_PASSWORD = "INVALID_PASSWORD"
    INVALID_NAME = "INVALID_NAME"


class RegisterRefused(DomainError):
    pass


class UpdateProfileErrorCode(Enum):
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_NAME = "INVALID_NAME"
    INVALID_TIMEZONE = "INVALID_TIMEZONE"


class UpdateProfileRefused(DomainError):
    pass


class ChangePasswordErrorCode(Enum):
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_PASSWORD = "INVALID_PASSWORD"


class ChangePasswordRefused(DomainError):
    pass


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """A correction a learner asks for; None means "leave as it is"."""

    full_name: str | None = None
    phone: str | None = None
    timezone: str | None = None


def normalise_email(email: str) -> str | None:
    """Lower-cased, trimmed email, or None when it cannot be an address."""
    value = email.strip().lower()
    return value if EMAIL_RE.match(value) and len(value) <= 320 else None


def normalise_phone(phone: str) -> str | None:
    """The E.164 form of an international number (with +country code), or None."""
    try:
        parsed = phonenumbers.parse(phone.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def jurisdiction_for_phone(e164: str | None) -> str:
    """KVKK for Turkish numbers (+90), GDPR otherwise."""
    return "KVKK" if e164 and e164.startswith("+90") else "GDPR"


def _clean_name(name: str) -> str | None:
    value = " ".join(name.split())
    return value if 1 <= len(value) <= 200 else None


async def register(
    *,
    hasher: PasswordHasher,
    full_name: str,
    email: str,
    phone: str,
    password: str,
    now: datetime,
) -> User:
    """Create a learner account; every input problem is refused before anything is written."""
    name = _clean_name(full_name)
    if name is None:
        raise RegisterRefused(RegisterErrorCode.INVALID_NAME, "Enter your full name.", "fullName")
    normal_email = normalise_email(email)
    if normal_email is None:
        raise RegisterRefused(
            RegisterErrorCode.INVALID_EMAIL, "Enter a valid email address.", "email"
        )
    e164 = normalise_phone(phone)
    if e164 is None:
        raise RegisterRefused(
            RegisterErrorCode.INVALID_PHONE,
            "Enter an international phone number with its country code, e.g. +447911123456.",
            "phone",
        )
    problem = password_problem(password)
    if problem:
        raise RegisterRefused(RegisterErrorCode.INVALID_PASSWORD, problem, "password")
    if await User.filter(email=normal_email).exists():
        raise RegisterRefused(
            RegisterErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email"
        )
    password_hash = await hasher.hash(password)
    policy = await consent.current_policy()
    try:
        user = await User.create(
            full_name=name,
            email=normal_email,
            phone=e164,
            password_hash=password_hash,
            policy_version=policy.version,
            jurisdiction=jurisdiction_for_phone(e164),
            last_sign_in_at=now,
        )
    except IntegrityError:
        # Two registrations raced past the check above; the unique index decided.
        raise RegisterRefused(
            RegisterErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email"
        ) from None
    await consent.record_acceptance(user_id=user.id, version=policy.version, now=now)
    return user


async def update_profile(
    *, effects: Effects, user_id: UUID, change: ProfileChange, now: datetime
) -> User:
    """Apply a learner's correction of their own profile, recorded as a correction request."""
    user = await User.get(id=user_id)
    before = (user.full_name, user.phone, user.timezone)
    if change.full_name is not None:
        name = _clean_name(change.full_name)
        if name is None:
            raise UpdateProfileRefused(
                UpdateProfileErrorCode.INVALID_NAME, "Enter your full name.", "fullName"
            )
        user.full_name = name
    if change.phone is not None:
        e164 = normalise_phone(change.phone)
        if e164 is None:
            raise UpdateProfileRefused(
                UpdateProfileErrorCode.INVALID_PHONE,
                "Enter an international phone number with its country code.",
                "phone",
            )
        user.phone = e164
    if change.timezone is not None:
        if not valid_timezone(change.timezone):
            raise UpdateProfileRefused(
                UpdateProfileErrorCode.INVALID_TIMEZONE,
                "Use an IANA timezone name such as Europe/Istanbul.",
                "timezone",
            )
        user.timezone = change.timezone
    changed = [
        name for name, old, new in zip(
            ("fullName", "phone", "timezone"), before, (user.full_name, user.phone, user.timezone),
            strict=True,
        ) if old != new
    ]
    async with UnitOfWork(effects) as uow:
        await user.save(using_db=uow.conn)
        if changed:
            await privacy.record_correction(uow, user=user, fields=changed, now=now)
    return user


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return "/" in name or name == "UTC"


async def change_password(
    *, hasher: PasswordHasher, user_id: UUID, current_password: str, new_password: str
) -> User:
    """Replace the password after checking the current one (Google-only accounts set a first)."""
    user = await User.get(id=user_id)
    if user.password_hash is not None and not await hasher.verify(
        current_password, user.password_hash
    ):
        raise ChangePasswordRefused(
            ChangePasswordErrorCode.INVALID_CREDENTIALS,
            "The current password is not correct.",
            "currentPassword",
        )
    problem = password_problem(new_password)
    if problem:
        raise ChangePasswordRefused(
            ChangePasswordErrorCode.INVALID_PASSWORD, problem, "newPassword"
        )
    user.password_hash = await hasher.hash(new_password)
    await user.save(update_fields=["password_hash"])
    return user
