"""Accounts: roles, argon2 hashes, sign-in, and the `prescreen users add` command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from prescreen.cli import main
from prescreen.review.accounts import Passwords, make_hasher
from prescreen.review.db import User
from prescreen.review.workflow import AuthError, InvalidInput, NotFound, ReviewService, UserView
from prescreen.settings import Settings


def _hash_of(kit, username: str) -> str:
    with kit.service.sessions() as session:
        return session.scalar(select(User.password_hash).where(User.username == username))


def test_passwords_are_stored_as_argon2id_hashes(kit):
    kit.service.create_user("dana", "correct horse", "assessor", "Dana D.")
    stored = _hash_of(kit, "dana")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert kit.service.user("dana") == UserView(username="dana", role="assessor", display_name="Dana D.")
    assert [u.username for u in kit.service.assessors()] == ["ana", "ben", "cy", "dana"]
    assert [u.username for u in kit.service.leads()] == ["lead"]


def test_authenticate_and_its_audit(kit):
    assert kit.service.authenticate("ana", "ana-test-pass").role == "assessor"
    for username, password in (("ana", "wrong-password"), ("nobody", "ana-test-pass")):
        with pytest.raises(AuthError, match="unknown username or wrong password"):
            kit.service.authenticate(username, password)
    actions = [(e.actor, e.action) for e in kit.service.audit("lead")]
    assert ("ana", "login") in actions and ("ana", "login_failed") in actions and ("nobody", "login_failed") in actions


@pytest.mark.parametrize("username, password, role, message", [
    ("Ana Maria", "long-enough", "assessor", "username 'Ana Maria' is not allowed"),
    ("x", "long-enough", "assessor", "not allowed"),
    ("dana", "short", "assessor", "at least 8 characters"),
    ("dana", "long-enough", "admin", "role 'admin' is unknown"),
    ("ana", "long-enough", "assessor", "exists already"),
])
def test_new_users_are_checked(kit, username, password, role, message):
    with pytest.raises(InvalidInput, match=message):
        kit.service.create_user(username, password, role)


def test_unknown_user_is_not_found(kit):
    with pytest.raises(NotFound, match="prescreen users add"):
        kit.service.user("zed")


def test_old_hash_parameters_are_upgraded_at_sign_in(kit):
    stronger = ReviewService(kit.service.sessions, kit.screen, passwords=Passwords(make_hasher(fast=False)))
    before = _hash_of(kit, "ben")
    stronger.authenticate("ben", "ben-test-pass")
    after = _hash_of(kit, "ben")
    assert after != before and make_hasher().check_needs_rehash(after) is False
    stronger.authenticate("ben", "ben-test-pass")


def test_cli_users_add(db_url, monkeypatch):
    monkeypatch.setenv("PRESCREEN_DATABASE_URL", db_url)
    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "lea", "--role", "lead", "--password-stdin"], input="lead-pass-1\n")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created lead lea"
    prompted = runner.invoke(main, ["users", "add", "abe", "--role", "assessor", "--display-name", "Abe"],
                             input="abe-pass-12\nabe-pass-12\n")
    assert prompted.exit_code == 0, prompted.output
    again = runner.invoke(main, ["users", "add", "lea", "--role", "lead", "--password-stdin"], input="whatever-1\n")
    assert again.exit_code == 2 and "user 'lea' exists already" in again.output
    service = ReviewService.from_settings(Settings())
    assert service.authenticate("lea", "lead-pass-1").role == "lead"
    assert service.user("abe").display_name == "Abe"
