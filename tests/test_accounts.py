"""Accounts made by a lead, in the service and in the lead's tab: only a lead may list or create them, the new
user signs in with the role given, and the tab's handlers (run inside a real Blocks) say what went wrong once."""

from __future__ import annotations

import gradio as gr
import pytest

from prescreen.review.workflow import InvalidInput, NotAllowed
from prescreen.ui import accounts


@pytest.fixture
def people(kit):
    """The kit's lead and assessors (ana, ben, cy), and one earner."""
    kit.service.create_user("dana", "dana-password", "earner")
    return kit.service


def test_a_lead_creates_an_earner_who_signs_in(people):
    made = people.add_account("lead", "eli", "eli-password", "earner", "Eli")
    assert (made.username, made.role) == ("eli", "earner")
    assert people.authenticate("eli", "eli-password").role == "earner"
    listed = {u.username: u.role for u in people.accounts("lead")}
    assert listed == {"lead": "lead", "ana": "assessor", "ben": "assessor", "cy": "assessor", "dana": "earner",
                      "eli": "earner"}
    assert any(e.action == "create_user" and e.actor == "lead" for e in people.audit("lead"))


@pytest.mark.parametrize("who", ["ana", "dana"])
def test_only_a_lead_lists_or_creates_accounts(people, who):
    with pytest.raises(NotAllowed, match="only leads may create accounts"):
        people.add_account(who, "mallory", "mallory-password", "lead")
    with pytest.raises(NotAllowed):
        people.accounts(who)
    assert "mallory" not in {u.username for u in people.accounts("lead")}


def test_a_bad_account_is_refused_with_what_to_fix(people):
    with pytest.raises(InvalidInput, match="too short"):
        people.add_account("lead", "eli", "short", "earner")
    with pytest.raises(InvalidInput, match="exists already"):
        people.add_account("lead", "dana", "another-password", "earner")


class Request:
    def __init__(self, username: str):
        self.username = username


def test_the_tab_creates_and_lists_and_warns_once(people, monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda message, **kw: warnings.append(message))
    with gr.Blocks() as blocks:
        tab = accounts.build(people)
    create = next(dep.fn for dep in blocks.fns.values() if dep.fn.__name__ == "create_account")
    status, listing, name, secret = create("eli", "Eli", "earner", "eli-password", Request("lead"))
    assert "Created eli (earner)" in status and "eli" in listing and (name, secret) == ("", "")
    assert "dana" in tab.load(Request("lead"))
    create("mallory", "", "lead", "mallory-password", Request("ana"))
    assert len(warnings) == 1 and "only leads may create accounts" in warnings[0]

