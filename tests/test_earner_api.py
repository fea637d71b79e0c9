"""An earner over plain HTTP, against the real app (`python app.py`) on a free port: another earner's draft is never
reached, whatever id a request puts in the page's lists, and assessors and leads get nothing from the earner's
handlers. Calls are made as the browser makes them (tests/test_api_roles.py: POST /gradio_api/queue/join, the
answer read from /gradio_api/queue/data).

Real components: SQLite, Gradio, the role gate; no screening is run (nothing is self-checked or submitted).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.app_server import ROOT, app_env, run_cli, running_app
from tests.earner_kit import CREDENTIAL, OVERVIEW, write_rubric
from tests.test_api_roles import HANDLERS, base_name, by_name, call, changes_nothing, handlers, inputs_for, signed_in

SAM = {"name": "Samira Quillfeather", "email": "samira.q@example.org"}
MARK = "sam-private-51d3"  # in Sam's overview: no answer to anyone else may hold it
MAKE_EARNERS = ("from prescreen.review.workflow import ReviewService; from prescreen.settings import Settings; "
                "s = ReviewService.from_settings(Settings()); "
                "[s.create_user(n, n + '-secret-pass', 'earner') for n in ('erin', 'sam')]")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("earner-api")
    env = app_env(folder / "data", PRESCREEN_RUBRICS_DIR=str(write_rubric(folder / "rubrics")))
    for user, role in (("lead", "lead"), ("ana", "assessor")):
        done = run_cli(env, "users", "add", user, "--role", role, "--password-stdin", stdin=f"{user}-secret-pass\n")
        assert done.returncode == 0, done.stderr
    made = subprocess.run([sys.executable, "-c", MAKE_EARNERS], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 0, made.stderr
    with running_app(env, folder / "app.log") as url:
        yield {"url": url.rstrip("/"), "env": env}


@pytest.fixture(scope="module")
def config(app) -> dict:
    with signed_in(app, "erin") as erin:
        return erin.get("/config").json()


def run(client, config: dict, name: str, data: list) -> list[dict]:
    return call(client, by_name(config, name)["id"], data)


def started_draft(client, config: dict) -> int:
    """A new draft of the tiny credential, as the page starts one: its id, from the draft list's new value."""
    run(client, config, "earner_load", [])
    done = run(client, config, "earner_start", [CREDENTIAL])[-1]
    assert done.get("success"), done
    picker = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "earner-draft")
    outputs = by_name(config, "earner_start")["outputs"]
    return int(done["output"]["data"][outputs.index(picker)]["value"])


def sams_draft(app: dict, config: dict) -> int:
    with signed_in(app, "sam") as sam:
        draft_id = started_draft(sam, config)
        saved = run(sam, config, "earner_save", [draft_id, SAM["name"], SAM["email"], "", f"{MARK} {OVERVIEW}", "", "",
                                                 None, None, None])
        assert saved[-1].get("success") and MARK in json.dumps(saved[-1]), saved[-1]
    return draft_id


def earner_handlers(config: dict) -> list[dict]:
    return [d for d in handlers(config) if HANDLERS.get(base_name(d)) == "earner"]


def test_an_earner_never_reaches_another_earners_draft(app, config):
    theirs = sams_draft(app, config)
    with signed_in(app, "erin") as erin:
        mine = started_draft(erin, config)
        assert mine != theirs
        replies = {d["api_name"]: call(erin, d["id"], inputs_for(config, d, theirs)) for d in earner_handlers(config)}
    for name, messages in replies.items():
        dependency = by_name(config, name)
        if dependency["inputs"]:  # earner_load lists erin's own work: it takes nothing to point elsewhere
            assert changes_nothing(config, dependency, messages), f"erin changed something with {name}: {messages[-1]}"
    shown = json.dumps(replies)
    for term in (MARK, SAM["name"], SAM["email"]):
        assert term not in shown, f"erin was shown sam's {term!r}"
    with signed_in(app, "sam") as sam:
        run(sam, config, "earner_load", [])
        opened = run(sam, config, "earner_open", [theirs])
    assert MARK in json.dumps(opened[-1]), "sam's own draft is as he left it"


def test_assessors_and_leads_get_nothing_from_the_earners_handlers(app, config):
    theirs = sams_draft(app, config)
    for user in ("ana", "lead"):
        with signed_in(app, user) as client:
            replies = {d["api_name"]: call(client, d["id"], inputs_for(config, d, theirs))
                       for d in earner_handlers(config)}
        for name, messages in replies.items():
            assert changes_nothing(config, by_name(config, name), messages), f"{user} got something from {name}"
        assert MARK not in json.dumps(replies) and SAM["email"] not in json.dumps(replies)
