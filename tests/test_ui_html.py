"""The review interface's HTML and error edge, without a browser: earner text is escaped, errors never leak."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import gradio as gr
import pytest

from prescreen.review.workflow import (
    AdjudicationItem,
    AssessorView,
    AssessorWork,
    CitationView,
    DecisionView,
    DetailView,
    FinalResultView,
    InvalidTransition,
    LeadView,
    PlaceView,
    QueueItem,
    ScoreView,
    SelfAnalysisView,
)
from prescreen.ui import build_app, lead, queue, review, review_form, review_html, shortcuts
from prescreen.ui.common import highlight, make_auth, ui_errors

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOSTILE = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


def hostile_view(**fields) -> AssessorView:
    detail = DetailView(
        detail_id="EO1.1", outcome_id="EO1", text="Defines equity.", drafted_status="weak", confidence=0.5,
        rationale=f"because {HOSTILE}",
        citations=[CitationView(artifact_id="A1", title=f"Title {IMG}", where="p. 2", quote=f"quoted {HOSTILE}",
                                context_before=f"before {IMG} ", context_after=" after & more")],
        self_analysis=[SelfAnalysisView(artifact_id="A1", locator=f"p. {IMG}", explanation=f"I did {HOSTILE}")],
        issues=[f"issue {HOSTILE}"],
        decision=DecisionView(action="override", new_status="missing", reason=f"reason {HOSTILE}"),
        score=ScoreView(score="not_yet", feedback=f"feedback {HOSTILE}"),
    )
    return AssessorView(submission=1, label=f"S-1 {HOSTILE}", credential="c", rubric_title=f"R {IMG}", attempt=1,
                        state="in_review", submitted=False, details=[detail], flags=[f"flag {HOSTILE}"], **fields)


def assert_inert(html: str, shown: bool = True) -> None:
    """No live tag from the earner's text; with `shown`, the text is there, escaped."""
    assert "<script" not in html and "<img" not in html
    assert not shown or "&lt;script&gt;" in html or "&lt;img" in html


def test_a_quote_is_marked_only_after_escaping():
    html = highlight("a <b>", "<i>quote</i>", " & c")
    assert html == "a &lt;b&gt;<mark>&lt;i&gt;quote&lt;/i&gt;</mark> &amp; c"


def test_every_earner_text_of_the_review_tab_is_escaped():
    view = hostile_view()
    detail = view.details[0]
    assert_inert(review.header_html(view))
    assert_inert(review.detail_html(view, detail))
    assert_inert(review.overview_html(view, "EO1.1"), shown=False)
    panel = review.detail_html(view, detail)
    assert "<mark>quoted &lt;script&gt;" in panel
    assert "before &lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>" in panel


def test_the_lead_tab_and_the_queue_escape_too():
    view = LeadView(**hostile_view().model_dump(exclude={"submitted"}), submitted=True,
                    incomplete_reasons=[f"reason {HOSTILE}"], disputed=["EO1.1"],
                    assessor_scores={"ana": {"EO1.1": ScoreView(score="demonstrated", feedback=HOSTILE)},
                                     "ben": {"EO1.1": ScoreView(score="not_yet", feedback=IMG)}},
                    final=FinalResultView(result="earned",
                                          per_detail={"EO1.1": ScoreView(score="demonstrated", feedback=HOSTILE)},
                                          decided_by="lead", decided_at=datetime.now(UTC), source="adjudication"))
    for html in (lead.summary_html(view), lead.scores_html(view), review_html.final_html(view.final)):
        assert_inert(html)
    item = QueueItem(submission=1, label="S-1", credential="c", readiness="not_ready", incomplete=True,
                     incomplete_reasons=[f"file {IMG}"], state="incomplete", age_days=0.2, my_progress="")
    assert_inert(queue.reasons_html([item]))
    assert queue.precheck_cell(item).startswith("⚠ incomplete: return to earner")


def test_each_citation_opens_its_whole_page_escaped_with_the_quote_marked():
    view = hostile_view()
    panel = review.detail_html(view, view.details[0])
    assert "class='ps-open-place' data-place='0'" in panel
    assert review_html.place_choices(view.details[0]) == [("1 · A1 p. 2", 0)]
    before, quote = f"Page two {IMG} starts. ", f"quoted {HOSTILE}"
    text = before + quote + " and the page goes on & on."
    place = PlaceView(detail_id="EO1.1", index=0, artifact_id="A1", title=f"Title {IMG}", where="p. 2", kind="page",
                      text=text, quote_start=len(before), quote_end=len(before) + len(quote))
    html = review_html.place_html(place)
    assert_inert(html)
    assert "<mark>quoted &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</mark> and the page goes on &amp; on." \
        in html
    assert "the whole page" in html and "not found word for word" not in html
    missing = review_html.place_html(place.model_copy(update={"quote_start": len(text), "quote_end": len(text)}))
    assert "not found word for word" in missing and "<mark></mark>" in missing


def test_an_ingest_moves_one_bar_through_the_pipelines_real_steps(tmp_path):
    from prescreen.pipeline import Screener
    from prescreen.settings import Settings
    from tests.fakes import StemHashEmbeddings

    moves: list[tuple] = []
    bar = lead.progress_bar(lambda at, desc, unit: moves.append((at, desc)))
    told: list[str] = []
    screener = Screener(Settings(data_dir=tmp_path / "data"), embedder=StemHashEmbeddings())
    screener.screen(EXAMPLES / "lincoln-elementary", lambda step: (told.append(step), bar(step)))
    bar(lead.STORING)
    assert told == lead.INGEST_STEPS[:-1], "the bar knows every step the pipeline names, in its order"
    steps = len(lead.INGEST_STEPS)
    assert [at for at, _ in moves] == [(k, steps) for k in range(steps)]
    assert moves[1][1] == "Reading the files…" and moves[-1][1] == "Storing the submission…"


def test_progress_counts_details_decided_and_scored():
    view = hostile_view()
    assert "1 of 1 details decided and scored" in review.progress_line(view)
    assert review_form.implied_recommendation(view) == "not_yet"


def test_errors_reach_the_user_as_one_message_never_a_traceback():
    @ui_errors
    def refused():
        raise InvalidTransition("S-1 is final: nothing to do")

    @ui_errors
    def broken():
        raise KeyError("internal detail")

    # outside a running app gr.Warning is a Python warning; in the app, one warning toast. Nothing is raised:
    # a raised gr.Error would put an error badge on every output of the event and block the page.
    with pytest.warns(UserWarning, match="S-1 is final: nothing to do"):
        assert refused() == gr.skip()
    with pytest.warns(UserWarning) as caught:
        assert broken() == gr.skip()
    [message] = [str(w.message) for w in caught]
    assert "internal detail" not in message and "logged on the server" in message


def test_a_warning_never_renders_html_from_a_message():
    @ui_errors
    def refused():
        raise InvalidTransition(f"bundle {IMG} refused")

    with pytest.warns(UserWarning) as caught:
        refused()
    assert_inert(str(caught[0].message))


def test_login_is_false_for_a_wrong_password_and_the_app_assembles(tmp_path):
    from tests.conftest import ReviewKit

    kit = ReviewKit(f"sqlite:///{tmp_path / 'review.sqlite'}")
    auth = make_auth(kit.service)
    assert auth("ana", "ana-test-pass") is True
    assert auth("ana", "wrong") is False
    app = build_app(kit.service)
    assert isinstance(app, gr.Blocks)
    assert {fn.api_visibility for fn in app.fns.values()} == {"private"}, "no handler is a listed API endpoint"
    kit.engine.dispose()


# ---------------------------------------------------------------- the review form: saved atomically, never lost


class RecordingService:
    """Records which service call the form made (the real ones are tested in test_review_workflow)."""

    def __init__(self, view: AssessorView):
        self.view, self.calls = view, []

    def save_detail(self, *args, **kwargs):
        self.calls.append(("save_detail", args, kwargs))
        return self.view

    def decide(self, *args):
        self.calls.append(("decide", args, {}))
        return self.view

    def score(self, *args):
        self.calls.append(("score", args, {}))
        return self.view


def test_a_decision_and_a_score_are_saved_in_one_call_and_alone_as_a_draft():
    view = hostile_view()
    both = review_form.Choices.of("override", "weak", " why ", "not_yet", " fix it ")
    service = RecordingService(view)
    review_form.store(service, "ana", view, "EO1.1", both)
    review_form.store(service, "ana", view, "EO1.1", review_form.Choices.of("confirm", "weak", "left over", None, ""))
    review_form.store(service, "ana", view, "EO1.1", review_form.Choices.of(None, None, "", "demonstrated", ""))
    assert [c[0] for c in service.calls] == ["save_detail", "decide", "score"]
    assert service.calls[0][2] == {"action": "override", "new_status": "weak", "reason": "why", "score": "not_yet",
                                   "feedback": "fix it"}
    assert service.calls[1][1] == ("ana", 1, "EO1.1", "confirm", None, ""), "a confirmation carries no reason"


def test_choices_on_screen_are_unsaved_only_when_they_differ_from_what_is_stored():
    detail = hostile_view().details[0]  # stored: override -> missing with a reason; not_yet with feedback
    assert detail.decision is not None and detail.score is not None
    reason, feedback = detail.decision.reason, detail.score.feedback
    same = review_form.Choices.of("override", "missing", reason, "not_yet", feedback)
    assert not review_form.unsaved(detail, same)
    assert not review_form.unsaved(detail, review_form.Choices.of(None, None, "", None, ""))
    assert review_form.unsaved(detail, review_form.Choices.of("confirm", None, "", "not_yet", feedback))
    assert review_form.unsaved(detail, review_form.Choices.of("override", "missing", reason, "demonstrated", ""))


def test_the_queue_lists_open_work_first_in_the_services_order():
    def item(n: int, state: str, progress: str = "") -> QueueItem:
        return QueueItem(submission=n, label=f"S-{n}", credential="c", readiness="ready", incomplete=False,
                         incomplete_reasons=[], state=state, age_days=1.0, my_progress=progress)

    items = [item(1, "final"), item(2, "in_review", "submitted"), item(3, "in_review", "0/3 decided"),
             item(4, "returned"), item(5, "adjudication")]
    assert [i.submission for i in queue.open_first(items, lead=False)] == [3, 5, 1, 2, 4]
    assert [i.submission for i in queue.open_first(items, lead=True)] == [2, 3, 5, 1, 4]


def test_the_adjudication_view_shows_the_evidence_and_both_assessors_work_escaped():
    detail = hostile_view().details[0]
    item = AdjudicationItem(detail_id="EO1.1", detail_text=f"Defines {HOSTILE}", drafted=detail, assessors=[
        AssessorWork(assessor="ana", action="override", new_status="missing", reason=f"not shown {IMG}",
                     score="demonstrated", feedback="ana's feedback"),
        AssessorWork(assessor="ben", action="confirm", score="not_yet", feedback=f"ben's {HOSTILE}")])
    view = LeadView(**hostile_view().model_dump(exclude={"submitted"}), submitted=True, adjudication=[item])
    html = lead.adjudication_html(view)
    assert_inert(html)
    for text in ("EO1.1", "Defines &lt;script&gt;", "Cited passages (1)", "<mark>quoted", "ana", "ben",
                 "overrode it", "not shown &lt;img", "confirmed it", "ana&#x27;s feedback", "ben&#x27;s"):
        assert text in html, text
    assert "<details class='ps-flags ps-adjudication-item' open>" in html


def test_an_upload_is_named_by_its_file_name_and_deleted(tmp_path):
    upload = tmp_path / "gradio" / "3f2a" / "bundle.zip"
    upload.parent.mkdir(parents=True)
    upload.write_bytes(b"not a zip")
    message = f"{upload}: not a zip file (in {upload.parent}/)"
    assert lead.without_paths(message, upload) == "bundle.zip: not a zip file (in )"
    lead.forget_upload(upload)
    assert not upload.exists() and not upload.parent.exists()


def test_shortcuts_are_shown_and_scripted_from_one_table():
    help_line, script = shortcuts.help_html(), shortcuts.script()
    for s in shortcuts.SHORTCUTS:
        assert f"<kbd>{s.key.upper()}</kbd> {s.does}" in help_line
        assert f'"key": "{s.key}"' in script
    assert {s.does for s in shortcuts.SHORTCUTS} >= {"confirm", "override", "demonstrated", "not yet", "next",
                                                      "previous", "save"}


# ---------------------------------------------------------------- the role gate over Gradio's routes


def gated_app(roles: dict[str, str]):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse as Text
    from starlette.routing import Route

    from prescreen.ui.gate import RoleGate

    routes = [Route(path, lambda request: Text("served"), methods=["GET", "POST"])
              for path in ("/gradio_api/upload", "/gradio_api/file={p:path}", "/monitoring/summary", "/config",
                           "/gradio_api/run/{name}", "/gradio_api/queue/join")]
    app = Starlette(routes=routes, middleware=[Middleware(RoleGate, role_of=roles.get)])
    app.cookie_id, app.tokens = "c1", {"t-lead": "lead", "t-ana": "ana"}
    return app


@pytest.mark.parametrize(("token", "path", "status"), [
    (None, "/gradio_api/upload", 401), (None, "/monitoring/summary", 401), (None, "/gradio_api/file=/x", 401),
    ("t-ana", "/gradio_api/upload", 403), ("t-lead", "/gradio_api/upload", 200),
    ("t-ana", "/gradio_api/file=/tmp/gradio/a/b.zip", 404), ("t-lead", "/gradio_api/file=/tmp/gradio/a/b.zip", 404),
    ("t-lead", "/monitoring/summary", 404), ("t-ana", "/gradio_api/run/route", 404),
    ("t-ana", "/gradio_api/queue/join", 200), ("t-ana", "/config", 200), (None, "/config", 200),
])
def test_the_gate_lets_each_role_reach_only_its_routes(token, path, status):
    from starlette.testclient import TestClient

    client = TestClient(gated_app({"lead": "lead", "ana": "assessor"}))
    if token:
        client.cookies.set("access-token-c1", token)
    assert client.post(path).status_code == status


def test_a_file_of_the_submission_reads_escaped_whole_or_at_its_focus():
    from prescreen.review.views import SourcePlace, SourceView

    places = [SourcePlace(where="p. 1", text=f"one {HOSTILE}"), SourcePlace(where="p. 2", section=IMG, text="two")]
    source = SourceView(artifact_id="A1", title=f"Title {IMG}", kind="pdf", role="artifact", places=places,
                        notes=[f"note {HOSTILE}"])
    whole = review.source_html(source)
    assert_inert(whole)
    assert "the whole file" in whole and "p. 1" in whole and "p. 2" in whole
    focused = review.source_html(source.model_copy(update={"focus": [1]}))
    assert "1 of 2 places" in focused and "one " not in focused and "two" in focused


def test_the_reader_opens_at_the_earners_pointer_for_the_detail_shown():
    from prescreen.review.views import ArtifactView

    view = hostile_view(artifacts=[ArtifactView(artifact_id="A1", title="Audit", kind="pdf", role="artifact")])
    with gr.Blocks():
        form, _ = review.layout()
    shown = review.render(form, view, "EO1.1")
    assert shown[form.reader.source].value == "A1" and shown[form.reader.place].value == f"p. {IMG}"
    assert shown[form.reader.source].choices == [("A1 · Audit (pdf, artifact)", "A1")]
    unknown = view.model_copy(update={"artifacts": []})
    assert review.render(form, unknown, "EO1.1")[form.reader.source].value is None
