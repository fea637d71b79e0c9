"""The anchoring check on a real review database (SQLite; PostgreSQL too when PRESCREEN_TEST_POSTGRES_URL is set):
with PRESCREEN_ANCHORING_CHECK on, assignment hides the AI draft from one of the two assessors, chosen at random
and recorded; that assessor's view has no draft and needs no decisions; the audit compares agreement with the
final result with and without the draft (checked against a hand-computed case and scikit-learn)."""

from __future__ import annotations

import random

import pytest
from matplotlib.figure import Figure
from sklearn.metrics import cohen_kappa_score
from sqlalchemy import select

from prescreen.audit import build_audit
from prescreen.audit.calibration import ALL
from prescreen.audit.html import render_html
from prescreen.audit.plots import anchoring_plot
from prescreen.review.db import Assignment, Decision, FinalResult
from prescreen.review.program import AnchoringSettings, ProgramSettings
from tests.audit_data import D, N, work
from tests.conftest import DETAILS


def check(kit, on: bool = True) -> None:
    kit.service.program = ProgramSettings(anchoring=AnchoringSettings(check=on))


def hidden_from(kit, sub: int) -> list[str]:
    with kit.service.sessions() as s:
        return [a.assessor.username for a in s.scalars(select(Assignment).where(
            Assignment.submission_id == sub, Assignment.draft_hidden.is_(True)))]


@pytest.fixture
def ben_hidden(kit, monkeypatch):
    """The check on, and the draw always falling on the second assessor assigned (ben, with ana first)."""
    check(kit)
    monkeypatch.setattr(random, "choice", lambda assignments: assignments[-1])
    return kit


def test_the_check_hides_the_draft_from_one_assessor_at_random_and_records_it(kit):
    assert kit.service.program.anchoring.check is False  # off unless the program turns it on
    assert hidden_from(kit, kit.in_review(code="OFF")) == []
    check(kit)
    subs = [kit.in_review(code=f"S{n}") for n in range(12)]
    chosen = [hidden_from(kit, sub) for sub in subs]
    assert all(len(names) == 1 for names in chosen)
    assert {names[0] for names in chosen} == {"ana", "ben"}  # 12 fair draws all alike: 1 in 2048
    for sub, [name] in zip(subs, chosen, strict=True):
        notes = [e.note for e in kit.service.audit("lead", sub) if e.action == "anchoring"]
        assert notes == [f"AI draft hidden from {name}"]


def test_the_assessor_without_the_draft_sees_none_of_it(ben_hidden):
    sub = ben_hidden.in_review()
    assert hidden_from(ben_hidden, sub) == ["ben"]
    ben, ana = ben_hidden.service.open("ben", sub), ben_hidden.service.open("ana", sub)
    assert ben.draft_hidden and not ana.draft_hidden
    for detail in ben.details:
        assert (detail.drafted_status, detail.confidence, detail.rationale, detail.citations) == (None, None, "", [])
        assert detail.text and detail.self_analysis  # the rubric and the earner's own pointers stay
    assert [d.drafted_status for d in ana.details] == ["evidenced", "weak", "evidenced"]
    assert ana.details[0].citations and "shows it" in ana.details[0].rationale
    seen = ben.model_dump_json()
    assert "evidenced" not in seen and "weak" not in seen and "shows it" not in seen


def test_the_previous_attempts_drafted_statuses_are_hidden_too(ben_hidden):
    first = ben_hidden.ingest(code="P", shortfall=True)
    ben_hidden.service.return_to_earner("lead", first.id, "The overview is too short.")
    second = ben_hidden.ingest(code="P", attempt=2).id
    ben_hidden.service.assign("lead", second, ["ana", "ben"])
    ben, ana = ben_hidden.service.open("ben", second), ben_hidden.service.open("ana", second)
    assert ana.previous_attempt is not None and ana.previous_attempt.previous_drafted_status
    assert ben.previous_attempt is not None and ben.previous_attempt.previous_drafted_status == {}
    assert ben.previous_attempt.drafted_status_changed == {}


def test_the_assessor_without_the_draft_scores_without_deciding(ben_hidden):
    sub = ben_hidden.in_review()
    ben_hidden.service.decide("ben", sub, "EO1.2", "override", "weak", "")  # nothing to decide: nothing stored,
    assert ben_hidden.count(Decision) == 0  # and no message that would tell the drafted status
    for detail in DETAILS:
        ben_hidden.service.score("ben", sub, detail, D)
    assert ben_hidden.service.submit("ben", sub, "earned").submitted
    ben_hidden.complete("ana", sub)
    assert ben_hidden.count(Decision) == len(DETAILS) and ben_hidden.count(FinalResult) == 1


def test_the_audit_compares_agreement_with_and_without_the_draft(ben_hidden):
    """Ben never sees the draft, ana always does. S1: both demonstrated everywhere. S2: ben not yet on EO1.2,
    adjudicated not yet. S3: ana not yet on EO2.1, adjudicated demonstrated. S4: the check was off: not counted.
    Ana against the final: [D D D | D D D | D D N] vs [D D D | D N D | D D D]: 7 of 9; both rate D 8/9, N 1/9,
    so p_e = (8/9)^2 + (1/9)^2 = 65/81 and kappa = (63/81 - 65/81) / (16/81) = -0.125. Ben: 9 of 9."""
    kit = ben_hidden
    s1, s2, s3 = (kit.in_review(code=f"S{n}") for n in (1, 2, 3))
    work(kit, "ana", s1)
    work(kit, "ben", s1)
    work(kit, "ana", s2)
    work(kit, "ben", s2, scores={"EO1.2": N})
    kit.service.adjudicate("lead", s2, "EO1.2", N, "Show the data.")
    work(kit, "ana", s3, scores={"EO2.1": N})
    work(kit, "ben", s3)
    kit.service.adjudicate("lead", s3, "EO2.1", D, "Fine.")
    check(kit, on=False)
    s4 = kit.in_review(code="S4")
    work(kit, "ana", s4, scores={"EO1.1": N})
    work(kit, "ben", s4, scores={"EO1.1": N})
    audit = build_audit(kit.service.sessions)
    rows = {(r.assessor, r.draft): r for r in audit.anchoring}
    assert list(rows) == [("ana", "shown"), ("ana", "hidden"), ("ben", "shown"), ("ben", "hidden"),
                          (ALL, "shown"), (ALL, "hidden")]
    ana, ben = rows[("ana", "shown")], rows[("ben", "hidden")]
    assert (ana.submissions, ana.stats.n, ana.stats.agreement) == (3, 9, pytest.approx(7 / 9))
    assert ana.stats.kappa == pytest.approx(-0.125)
    ana_scores = [D, D, D, D, D, D, D, D, N]
    final = [D, D, D, D, N, D, D, D, D]
    assert ana.stats.kappa == pytest.approx(cohen_kappa_score(ana_scores, final))
    assert "only 9 items" in ana.stats.note
    assert (ben.submissions, ben.stats.n, ben.stats.agreement, ben.stats.kappa) == (3, 9, 1.0, pytest.approx(1.0))
    assert (rows[("ana", "hidden")].stats.n, rows[("ana", "hidden")].stats.agreement) == (0, None)
    assert rows[(ALL, "shown")].stats == ana.stats and rows[(ALL, "hidden")].stats == ben.stats
    figure = anchoring_plot(audit)
    assert isinstance(figure, Figure)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["ana (n = 9 / 0)", "ben (n = 0 / 9)", f"{ALL} (n = 9 / 9)"]
    page = render_html(audit)
    assert "<h2>Anchoring check</h2>" in page and "<img alt='anchoring plot'" in page
    assert "read it with care" in audit.table("anchoring").note


def test_without_the_check_the_comparison_is_empty(kit):
    sub = kit.in_review()
    work(kit, "ana", sub)
    work(kit, "ben", sub)
    audit = build_audit(kit.service.sessions)
    assert audit.anchoring == [] and audit.table("anchoring").rows == []
    assert isinstance(anchoring_plot(audit), Figure)  # "no data yet"


def test_the_review_tab_shows_the_view_without_the_draft(ben_hidden):
    from prescreen.ui.review_html import detail_html, header_html, overview_html, progress_line

    sub = ben_hidden.in_review()
    view = ben_hidden.service.open("ben", sub)
    page = header_html(view) + progress_line(view) + overview_html(view, view.details[0].detail_id)
    page += "".join(detail_html(view, detail) for detail in view.details)
    assert page.count("No AI draft is shown to you") == len(DETAILS)
    assert "evidenced" not in page and "weak" not in page and "shows it" not in page


def test_the_review_form_hides_the_decision_controls_and_says_why(ben_hidden):
    import gradio as gr

    from prescreen.ui import review
    from prescreen.ui.review_form import done

    sub = ben_hidden.in_review()
    ben, ana = ben_hidden.service.open("ben", sub), ben_hidden.service.open("ana", sub)
    with gr.Blocks():
        form, _ = review.layout()
    hidden, shown = review.render(form, ben, None), review.render(form, ana, None)
    assert hidden[form.decision_box].visible is False and hidden[form.bulk].visible is False
    assert shown[form.decision_box].visible is True and shown[form.bulk].visible is True
    assert "without the pre-screen&#x27;s draft" in hidden[form.no_draft] and shown[form.no_draft] == ""
    assert "experiment" not in hidden[form.no_draft] and "anchoring" not in hidden[form.no_draft]
    for detail in DETAILS:
        ben = ben_hidden.service.score("ben", sub, detail, "demonstrated")
    assert all(done(d) for d in ben.details)  # scored is done when there is no draft to decide on
    assert "3 of 3 details scored" in review.progress_line(ben)


def test_the_assessor_without_the_draft_reads_the_files_at_the_earners_pointers(ben_hidden):
    sub = ben_hidden.in_review()
    pointer = ben_hidden.service.open("ben", sub).details[1].self_analysis[0]
    assert (pointer.artifact_id, pointer.locator) == ("A1", "p. 2")
    page = ben_hidden.service.read_source("ben", sub, pointer.artifact_id, pointer.locator)
    assert page.focus == [1] and "examined attendance data" in page.places[1].text
    assert "Nakamura" not in page.model_dump_json()
