"""Who may do what over plain HTTP, role by role, against the real app (`python app.py`) on a free port.

The app's handlers are enumerated from its own /config, so a new one fails `test_every_handler_is_classified`
until it is put in HANDLERS. Each is then called as the browser calls it (POST /gradio_api/queue/join, answer
read from /gradio_api/queue/data), signed in as an assessor and as a lead, with the real submission's id in
every dropdown: a lead-only handler gives an assessor nothing, an assessor-only one gives a lead nothing, and
no answer to an assessor holds the earner's name, e-mail or organization. Gradio's other routes (upload, the
file route, monitoring, named API calls) are tried too, and signed out everything answers 401.

The audit tab and the badge are then tried with real inputs: an assessor and an earner get nothing of them, a lead
gets the audit (plots, tables, CSVs) and a badge that verifies with the issuer's key.

Real components: the CLI ingests examples/lincoln-elementary with the real embedding model (about 30 s).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.app_server import ROOT, app_env, run_cli, running_app

BUNDLE = ROOT / "examples" / "lincoln-elementary"
EARNER = yaml.safe_load((BUNDLE / "submission.yaml").read_text())["earner"]
IDENTITY = [EARNER["name"], EARNER["email"], EARNER["organization"]]
USERS = {"lead": "lead", "ana": "assessor", "ben": "assessor"}
ISSUER = {"PRESCREEN_ISSUER_ID": "https://academy.example.org/issuer", "PRESCREEN_ISSUER_NAME": "Example Academy"}

# every handler of the app, by name (Gradio's numeric suffix for a second use dropped): who it serves.
# "lead" / "assessor" / "earner": a call by anyone else changes nothing; "both": anyone signed in may call it.
HANDLERS = {
    "on_load": "both", "load_queue": "both", "route": "both", "picked_row": "both",
    "review_choices": "assessor", "show_review": "assessor", "open_review": "assessor", "goto": "assessor",
    "go_previous": "assessor", "go_next": "assessor", "save_and_next": "assessor", "save_here": "assessor",
    "submit_review": "assessor", "confirm_read": "assessor", "open_place": "assessor", "read_file": "assessor",
    "load_lead_lists": "lead", "show_lead_view": "lead", "open_lead_view": "lead", "ingest_bundle": "lead",
    "do_assign": "lead", "do_auto": "lead", "do_return": "lead", "do_adjudicate": "lead", "clear_upload": "both",
    "earner_load": "earner", "earner_start": "earner", "earner_open": "earner", "earner_save": "earner",
    "earner_add_artifact": "earner", "earner_remove_artifact": "earner", "earner_show_detail": "earner",
    "earner_show_places": "earner", "earner_save_detail": "earner", "earner_self_check": "earner",
    "earner_submit": "earner", "earner_download": "earner", "earner_next_attempt": "earner",
    "earner_reopen": "earner",
    "earner_tick": "both", "earner_count_words": "both",  # echo what they are given: no service, no data
    "load_audit": "lead", "refresh": "lead", "issue": "lead",  # the audit tab: the audit, its CSVs, badges
    "mark_gold": "lead", "assign_gold": "lead", "require_calibration": "lead",  # and the gold set
    "load_accounts": "lead", "create_account": "lead",  # the accounts tab
}
# Gradio routes besides the queue, and what each role gets (signed out: 401 from all of them)
ROUTES = {  # path: (assessor, lead); an earner may upload their own work (tested below)
    "/gradio_api/upload": (403, 200),
    "/monitoring/summary": (404, 404),
    "/gradio_api/run/route": (404, 404),
    "/gradio_api/call/route": (404, 404),
    "/gradio_api/openapi.json": (404, 404),
}

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- the app, with a submission assigned to ana and ben


def password(user: str) -> str:
    return f"{user}-secret-pass"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    env = app_env(folder / "data", **ISSUER)  # a module's fixture: the autouse one that isolates settings has not run
    for user, role in USERS.items():
        done = run_cli(env, "users", "add", user, "--role", role, "--password-stdin", stdin=password(user) + "\n")
        assert done.returncode == 0, done.stderr
    done = run_cli(env, "ingest", str(BUNDLE), "--auto-assign")
    assert done.returncode == 0, done.stdout + done.stderr
    keygen = run_cli(env, "badge", "keygen")
    assert keygen.returncode == 0, keygen.stderr
    with running_app(env, folder / "app.log") as url:
        yield {"url": url.rstrip("/"), "env": env, "public_key": json.loads(keygen.stdout)}


@contextmanager
def signed_in(app: dict, user: str | None, secret: str | None = None) -> Iterator[httpx.Client]:
    """An HTTP client with the user's session cookie (signed out: none) and one page session, as a browser tab
    has (Gradio keeps each session's component choices: a dropdown takes only a value its session listed)."""
    with httpx.Client(base_url=app["url"], timeout=120) as client:
        client.session_hash = uuid.uuid4().hex
        if user:
            reply = client.post("/login", data={"username": user, "password": secret or password(user)})
            assert reply.status_code == 200, reply.text
        yield client


@pytest.fixture(scope="module")
def config(app) -> dict:
    with signed_in(app, "lead") as lead:
        return lead.get("/config").json()


# ---------------------------------------------------------------- calling a handler as the page does


def handlers(config: dict) -> list[dict]:
    return [d for d in config["dependencies"] if d.get("backend_fn")]


def base_name(dependency: dict) -> str:
    return re.sub(r"_\d+$", "", str(dependency["api_name"]))


def inputs_for(config: dict, dependency: dict, submission: int) -> list:
    """A value per input: the submission's id in every dropdown, a path in every text box, nothing elsewhere."""
    kinds = {c["id"]: c["type"] for c in config["components"]}
    values = {"dropdown": submission, "textbox": str(BUNDLE)}
    return [values.get(kinds.get(i, "")) for i in dependency["inputs"]]


def call(client: httpx.Client, fn_index: int, data: list) -> list[dict]:
    """The messages the queue streams back for one call, up to its completion."""
    session = client.session_hash
    joined = client.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                        "event_data": None, "trigger_id": None})
    assert joined.status_code == 200, joined.text
    messages = []
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                messages.append(json.loads(line[5:]))
                if messages[-1].get("msg") == "process_completed":
                    break
    return messages


def changes_nothing(config: dict, dependency: dict, messages: list[dict]) -> bool:
    """The call ended with a refusal, or with every output left as it was: a skip (an update with no property),
    or, for a gr.State, nothing (its value stays on the server and is never sent)."""
    done = messages[-1]
    if not done.get("success", False):
        return True
    kinds = {c["id"]: c["type"] for c in config["components"]}
    return all(unchanged(value, kinds.get(output) == "state")
               for output, value in zip(dependency["outputs"], done["output"]["data"], strict=True))


def unchanged(value, state: bool) -> bool:
    if value is None:
        return state
    props = value.get("props", {}) if isinstance(value, dict) else None
    return isinstance(props, dict) and set(value) <= {"__type__", "props"} and set(props) <= {"__type__"}


def submissions(client: httpx.Client, config: dict) -> list[int]:
    """The ids in the user's queue, as the page lists them when it loads (the lists are filled this way)."""
    for name in ("load_lead_lists", "review_choices"):
        call(client, by_name(config, name)["id"], [])
    done = call(client, by_name(config, "load_queue")["id"], [])[-1]
    picker = done["output"]["data"][-1]
    return [value for _, value in picker["choices"]]


def by_name(config: dict, api_name: str) -> dict:
    return next(d for d in handlers(config) if d["api_name"] == api_name)


# ---------------------------------------------------------------- the tests


def test_every_handler_is_classified_and_none_is_a_listed_endpoint(app, config):
    names = {base_name(d) for d in handlers(config)}
    assert names - HANDLERS.keys() == set(), "classify the new handler in HANDLERS (who may call it)"
    with signed_in(app, "ana") as ana:
        info = ana.get("/gradio_api/info").json()
    assert info["named_endpoints"] == {} and info["unnamed_endpoints"] == {}


def test_signed_out_gets_401_everywhere(app, config):
    with signed_in(app, None) as nobody:
        for path in ["/config", "/gradio_api/info", *ROUTES, "/gradio_api/file=/etc/hostname"]:
            assert nobody.get(path).status_code == 401, path
        reply = nobody.post("/gradio_api/queue/join", json={"data": [], "fn_index": 0, "session_hash": "x"})
        assert reply.status_code == 401


def test_each_role_reaches_only_its_routes(app):
    for user, column in (("ana", 0), ("lead", 1)):
        with signed_in(app, user) as client:
            for path, expected in ROUTES.items():
                reply = (client.post(path, files={"files": ("a.txt", b"x")}) if path.endswith("upload")
                         else client.get(path))
                assert reply.status_code == expected[column], (user, path, reply.text[:200])


def answers(client: httpx.Client, config: dict, submission: int) -> dict[str, list[dict]]:
    """Every handler called once by `client`, with the submission's id in every dropdown: api_name -> messages."""
    return {d["api_name"]: call(client, d["id"], inputs_for(config, d, submission)) for d in handlers(config)}


def refused(config: dict, replies: dict[str, list[dict]], role_of_handler: str) -> list[str]:
    """The handlers serving `role_of_handler` whose reply changed something (none may, for another role)."""
    return [name for name, messages in replies.items()
            if HANDLERS[base_name(by_name(config, name))] == role_of_handler
            and not changes_nothing(config, by_name(config, name), messages)]


def test_no_handler_gives_an_assessor_lead_data_or_the_earner(app, config):
    with signed_in(app, "ana") as ana, signed_in(app, "lead") as lead:
        [submission] = submissions(ana, config)
        to_ana = answers(ana, config, submission)
        submissions(lead, config)
        to_lead = answers(lead, config, submission)
    assert refused(config, to_ana, "lead") == refused(config, to_ana, "earner") == [], "an assessor got something"
    assert refused(config, to_lead, "assessor") == refused(config, to_lead, "earner") == [], "a lead got something"
    shown_to_ana, shown_to_lead = json.dumps(to_ana), json.dumps(to_lead["show_lead_view"])
    assert EARNER["name"] in shown_to_lead, "the check below can find the earner's identity"
    assert "Cited passages" in shown_to_ana, "the assessor's own review was shown"
    for term in IDENTITY:
        assert term not in shown_to_ana, f"an assessor was shown {term!r}"


def in_the_app(app: dict, script: str) -> None:
    """Python run against the app's database, with a ReviewService as `service`, as the CLI would."""
    setup = ("from prescreen.review.workflow import ReviewService; from prescreen.settings import Settings; "
             "service = ReviewService.from_settings(Settings())\n")
    done = subprocess.run([sys.executable, "-c", setup + script], env=app["env"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr


def an_earner(app: dict) -> str:
    in_the_app(app, "from prescreen.review.errors import NotFound\ntry:\n    service.user('erin')\n"
                    "except NotFound:\n    service.create_user('erin', 'erin-secret-pass', 'earner')")
    return "erin"


def test_an_earner_gets_nothing_of_a_lead_or_an_assessor(app, config):
    an_earner(app)
    with signed_in(app, "ana") as ana, signed_in(app, "erin") as erin:
        [submission] = submissions(ana, config)
        to_erin = answers(erin, config, submission)
        assert erin.get("/monitoring/summary").status_code == 404
        assert erin.post("/gradio_api/upload", files={"files": ("mine.md", b"x")}).status_code == 200
        assert erin.get("/gradio_api/file=/etc/hostname").status_code == 404
    assert refused(config, to_erin, "lead") == refused(config, to_erin, "assessor") == []
    for term in IDENTITY:
        assert term not in json.dumps(to_erin), f"an earner was shown another earner's {term!r}"


def test_an_upload_is_never_served_back_and_is_gone_after_ingest(app, config):
    with signed_in(app, "lead") as lead, signed_in(app, "ana") as ana:
        [path] = lead.post("/gradio_api/upload", files={"files": ("bad.zip", b"not a zip")}).json()
        for client in (lead, ana):
            assert client.get(f"/gradio_api/file={path}").status_code == 404
        before = submissions(lead, config)
        ingest = by_name(config, "ingest_bundle")
        upload = {"path": path, "orig_name": "bad.zip", "meta": {"_type": "gradio.FileData"}}
        messages = call(lead, ingest["id"], [upload, ""])
        assert submissions(lead, config) == before
    warnings = [m["log"] for m in messages if m.get("msg") == "log"]
    assert len(warnings) == 1 and "bad.zip" in warnings[0], messages
    assert str(Path(path).parent) not in warnings[0] and "/tmp" not in warnings[0]
    assert not Path(path).exists(), "Gradio's copy of the upload was deleted"


# ---------------------------------------------------------------- the audit and the badge (last: it ends the review)

AUDIT_SIGNS = ("AI draft against final score", "data:text/csv", "vc+jwt", "Badge issued")  # none for others
AUDIT_FILTERS = ["(all)", "(all)", "", "", False]  # credential, rubric version, ingested since, until, similarity


def earned(app: dict, submission: int) -> None:
    """ana and ben score every detail demonstrated (overriding the drafts that say otherwise) and submit."""
    in_the_app(app, "from prescreen.review.demo import review\n"
                    f"details = service.open('ana', {submission}).details\n"
                    "for who in ('ana', 'ben'):\n"
                    f"    review(service, who, {submission}, {{d.detail_id: 'demonstrated' for d in details}})\n"
                    f"assert service.final_result('lead', {submission}).result == 'earned'")


def audit_calls(client: httpx.Client, config: dict, submission: int) -> dict[str, list[dict]]:
    """The audit opened, refreshed with every filter at (all), and a badge asked for the submission."""
    inputs = {"load_audit": [], "refresh": AUDIT_FILTERS, "issue": [submission]}
    return {name: call(client, by_name(config, name)["id"], data) for name, data in inputs.items()}


def test_only_a_lead_runs_the_audit_or_issues_a_badge(app, config):
    from prescreen.badges import verify

    with signed_in(app, "ana") as ana:
        [submission] = submissions(ana, config)
    earned(app, submission)
    for user in ("ana", an_earner(app)):
        with signed_in(app, user) as client:
            replies = audit_calls(client, config, submission)
        assert [n for n, m in replies.items() if not changes_nothing(config, by_name(config, n), m)] == [], user
        assert not any(sign in json.dumps(replies) for sign in AUDIT_SIGNS), f"{user} was shown audit data"
    with signed_in(app, "lead") as lead:
        replies = audit_calls(lead, config, submission)
    assert all(messages[-1]["success"] for messages in replies.values()), replies
    for name in ("load_audit", "refresh"):
        shown = json.dumps(replies[name])
        assert "AI draft against final score" in shown and "data:text/csv" in shown, name
        assert "image/png" in shown, "the plots were drawn"
    [token] = re.findall(r"data:application/vc\+jwt;base64,([A-Za-z0-9+/=]+)", json.dumps(replies["issue"]))
    credential = verify(base64.b64decode(token).decode(), app["public_key"])
    assert credential["issuer"]["id"] == ISSUER["PRESCREEN_ISSUER_ID"]
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["id"].endswith("/leading-an-equitable-learning-culture/2026.1")
