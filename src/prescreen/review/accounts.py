"""Accounts: users with a role (lead, assessor, earner) and an argon2 password hash. Plain domain code, no UI."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from prescreen.review.db import User

Role = Literal["lead", "assessor", "earner"]
ROLES: tuple[str, ...] = ("lead", "assessor", "earner")
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
    if not USERNAME.match(username):
        return None  # no account has such a name: no query with whatever was typed
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


# ---------------------------------------------------------------- failed sign-ins: a delay that grows

FREE_FAILURES = 3  # wrong passwords allowed before any delay (typos happen)
FIRST_DELAY_S = 2.0  # then 2 s, 4 s, 8 s ... up to MAX_DELAY_S
MAX_DELAY_S = 15 * 60.0
MAX_TRACKED = 10_000  # keys kept before expired ones are dropped: a spray of names cannot fill memory
USERNAME_LOG_CHARS = 64  # what a typed username may occupy in the audit log (the column's size)


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class LoginThrottle:
    """Failed sign-ins per username and per address: after FREE_FAILURES, every further failure locks the key
    for a delay that doubles, so guessing passwords gets slower and slower. A success clears its username.

    In memory, per process: a restart forgets, and the audit log keeps every attempt anyway."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait_s(self, username: str, address: str | None = None) -> float:
        """Seconds before this username (and address) may try again; 0 when it may try now."""
        now = self.clock()
        with self._lock:
            until = [self._failures[key].locked_until for key in _keys(username, address) if key in self._failures]
        return max([u - now for u in until] + [0.0])

    def failed(self, username: str, address: str | None = None) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > MAX_TRACKED:
                self._failures = {k: v for k, v in self._failures.items() if v.locked_until > now}
            for key in _keys(username, address):
                entry = self._failures.setdefault(key, _Failures())
                entry.count += 1
                if entry.count > FREE_FAILURES:
                    delay = min(FIRST_DELAY_S * 2 ** min(entry.count - FREE_FAILURES - 1, 30), MAX_DELAY_S)
                    entry.locked_until = now + delay

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(_keys(username, None)[0], None)


def _keys(username: str, address: str | None) -> list[str]:
    return [f"user:{username[:USERNAME_LOG_CHARS]}"] + ([f"address:{address}"] if address else [])


def logged_username(typed: str) -> str:
    """A typed username as the audit log keeps it: at most USERNAME_LOG_CHARS characters, marked when cut."""
    return typed if len(typed) <= USERNAME_LOG_CHARS else typed[: USERNAME_LOG_CHARS - 1] + "…"
