"""Accounts: users with a role (lead, assessor) and an argon2 password hash. Plain domain code, no UI."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from prescreen.review.db import User

Role = Literal["lead", "assessor"]
ROLES: tuple[str, ...] = ("lead", "assessor")
MIN_PASSWORD = 8
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def make_hasher(fast: bool = False) -> PasswordHasher:
    """argon2id with the library's defaults (RFC 9106 low-memory profile); `fast` is for tests only."""
    if fast:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def check_new_user(username: str, password: str, role: str) -> str | None:
    """None when the account can be made; otherwise what is wrong with it, and how to fix it."""
    if not USERNAME.match(username):
        return (f"username {username!r} is not allowed: use 2-64 lower-case letters, digits, '.', '_' or '-', "
                "starting with a letter or digit")
    if role not in ROLES:
        return f"role {role!r} is unknown: use one of {', '.join(ROLES)}"
    if len(password) < MIN_PASSWORD:
        return f"the password is too short: use at least {MIN_PASSWORD} characters"
    return None


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


class Passwords:
    """Hashes and checks passwords; an unknown user costs as much time as a wrong password."""

    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or make_hasher()

    @cached_property
    def _dummy(self) -> str:
        """Checked against when the user is unknown, so that costs the same time as a wrong password."""
        return self.hasher.hash("not a password of anyone")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def check(self, user: User | None, password: str) -> bool:
        """True when `user` exists, is active and `password` is theirs; rehashes old parameters on success."""
        try:
            self.hasher.verify(user.password_hash if user else self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False
        if user is None or not user.active:
            return False
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        return True
