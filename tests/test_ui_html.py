"""The review interface's HTML and error edge, without a browser: earner text is escaped, errors never leak."""

from __future__ import annotations

from datetime import UTC, datetime

import gradio as gr
import pytest

from prescreen.review.workflow import (
    AssessorView, AuthError, CitationView, DetailView, FinalResultView, InvalidTransition, LeadView, QueueItem,
    SelfAnalysisView,
)
from prescreen.ui import build_app, lead, queue, review
from prescreen.ui.common import highlight, make_auth, ui_errors

HOSTILE = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


def hostile_view(**fields) -> AssessorView:
    detail = DetailView(
        detail_id="EO1.1", outcome_id="EO1", text="Defines equity.", drafted_status="weak", confidence=0.5,
        rationale=f"because {HOSTILE}",
        citations=[CitationView(artifact_id="A1", title=f"Title {IMG}", where="p. 2", quote=f"quoted {HOSTILE}",
                                context_before=f"before {IMG} ", context_after=" after & more")],
        self_analysis=[SelfAnalysisView(artifact_id="A1", locator=f"p. {IMG}", explanation=f"I did {HOSTILE}")],
        issues=[f"issue {HOSTILE}"], decision=("override", "missing", f"reason {HOSTILE}"),
        score=("not_yet", f"feedback {HOSTILE}"),
    )
    return AssessorView(submission=1, label=f"S-1 {HOSTILE}", credential="c", rubric_title=f"R {IMG}", attempt=1,
                        status="in_review", submitted=False, details=[detail], flags=[f"flag {HOSTILE}"], **fields)


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
                    assessor_scores={"ana": {"EO1.1": ("demonstrated", HOSTILE)}, "ben": {"EO1.1": ("not_yet", IMG)}},
                    final=FinalResultView(result="earned", per_detail={"EO1.1": ("demonstrated", HOSTILE)},
                                          decided_by="lead", decided_at=datetime.now(UTC), source="adjudication"))
    for html in (lead.summary_html(view), lead.scores_html(view), lead.final_html(view)):
        assert_inert(html)
    item = QueueItem(submission=1, label="S-1", credential="c", readiness="not_ready", incomplete=True,
                     incomplete_reasons=[f"file {IMG}"], status="incomplete", age_days=0.2, my_progress="")
    assert_inert(queue.reasons_html([item]))
    assert queue.precheck_cell(item).startswith("⚠ incomplete: return to earner")


def test_progress_counts_details_decided_and_scored():
    view = hostile_view()
    assert "1 of 1 details decided and scored" in review.progress_line(view)
    assert review.implied_recommendation(view) == "not_yet"


def test_errors_reach_the_user_as_one_message_never_a_traceback():
    @ui_errors
    def refused():
        raise InvalidTransition("S-1 is final: nothing to do")

    @ui_errors
    def broken():
        raise KeyError("internal detail")

    with pytest.raises(gr.Error, match="S-1 is final: nothing to do"):
        refused()
    with pytest.raises(gr.Error) as caught:
        broken()
    assert "internal detail" not in str(caught.value) and "logged on the server" in str(caught.value)


def test_login_is_false_for_a_wrong_password_and_the_app_assembles():
    class Service:
        def authenticate(self, username, password):
            if password != "right-password":
                raise AuthError("unknown username or wrong password")

    auth = make_auth(Service())
    assert auth("ana", "right-password") is True
    assert auth("ana", "wrong") is False
    assert isinstance(build_app(Service()), gr.Blocks)
