"""The assessor workflow's rules, on SQLite and PostgreSQL: states, who may do what, blind views,
agreement and adjudication, attempts, the queue and the audit log. The screener is a fake (conftest)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from prescreen.review.db import Decision, FinalResult, Finding, Score, ScreeningRun, Submission
from prescreen.review.workflow import (
    AuthError,
    DecisionView,
    InvalidInput,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ScoreView,
    around,
    identity_terms,
    precheck,
)
from tests.blind_kit import fallback_mask
from tests.conftest import DETAILS, EARNER, make_screening

IDENTITY = ["Teresa", "Nakamura", EARNER["email"], EARNER["organization"], "Lincoln Elementary School",
            "Millbrook Unified School District"]


def assert_blind(json_text: str) -> None:
    for term in IDENTITY:
        assert term.lower() not in json_text.lower(), term


# ---------------------------------------------------------------- ingest and the pre-check


def test_ingest_stores_run_findings_and_state(kit):
    sub = kit.ingest(statuses={"EO1.2": "evidenced"})
    assert (sub.state, sub.readiness, sub.incomplete, sub.screening_runs) == ("awaiting_assignment", "ready", False, 1)
    assert sub.label == "S-2026-0101 · attempt 1" and sub.code == "S-2026-0101"
    assert kit.count(Submission) == 1 and kit.count(ScreeningRun) == 1 and kit.count(Finding) == len(DETAILS)
    assert_blind(sub.model_dump_json())


@pytest.mark.parametrize("kwargs, reason", [
    ({"shortfall": True}, "part overview has 40 words, below its minimum of 100"),
    ({"problem": "missing_file"}, "artifacts/video.mp4: missing file"),
    ({"problem": "unsupported_type"}, "unsupported type"),
])
def test_precheck_flags_incomplete_submissions(kit, kwargs, reason):
    sub = kit.ingest(**kwargs)
    assert sub.state == "incomplete" and sub.incomplete
    assert any(reason in r for r in sub.incomplete_reasons)


def test_precheck_passes_weak_evidence_and_suspicious_text():
    assert precheck(make_screening(problem="suspicious_instructions").report) == []
    assert precheck(make_screening(statuses={"EO1.1": "missing"}).report) == []


def test_return_to_earner_only_when_incomplete(kit):
    incomplete = kit.ingest(shortfall=True)
    with pytest.raises(InvalidInput, match="say why"):
        kit.service.return_to_earner("lead", incomplete.id, "  ")
    returned = kit.service.return_to_earner("lead", incomplete.id, "The overview is short of 100 words.")
    assert (returned.state, returned.returned_reason) == ("returned", "The overview is short of 100 words.")
    complete = kit.ingest(code="S-2026-0102")
    with pytest.raises(InvalidTransition, match="allowed only when it is incomplete; allowed now: assign"):
        kit.service.return_to_earner("lead", complete.id, "no")


def test_ingesting_a_returned_submission_again_adds_a_screening_run(kit):
    first = kit.ingest(shortfall=True)
    kit.service.return_to_earner("lead", first.id, "too short")
    again = kit.ingest()
    assert (again.id, again.state, again.screening_runs, again.returned_reason) == (
        first.id, "awaiting_assignment", 2, None)
    kit.service.assign("lead", again.id, ["ana", "ben"])
    with pytest.raises(InvalidTransition, match="in_review: ingest again is allowed only when"):
        kit.ingest()


def test_only_leads_ingest(kit):
    with pytest.raises(NotAllowed, match="only leads may ingest"):
        kit.service.ingest("ana", "/bundles/x")
    with pytest.raises(AuthError):
        kit.service.ingest("nobody", "/bundles/x")


# ---------------------------------------------------------------- assignment


def test_assign_exactly_two_distinct_assessors(kit):
    sub = kit.ingest()
    for names in (["ana"], ["ana", "ana"], ["ana", "ben", "cy"]):
        with pytest.raises(InvalidInput, match="exactly two distinct"):
            kit.service.assign("lead", sub.id, names)
    with pytest.raises(NotAllowed, match="a lead cannot score as an assessor"):
        kit.service.assign("lead", sub.id, ["ana", "lead"])
    with pytest.raises(NotAllowed):
        kit.service.assign("ana", sub.id, ["ana", "ben"])
    with pytest.raises(NotFound):
        kit.service.assign("lead", sub.id, ["ana", "zed"])
    view = kit.service.assign("lead", sub.id, ["ana", "ben"])
    assert (view.state, view.assigned_to) == ("in_review", ["ana", "ben"])
    with pytest.raises(InvalidTransition, match="in_review: assign is allowed only when it is incomplete or"):
        kit.service.assign("lead", sub.id, ["ana", "cy"])


def test_incomplete_can_be_assigned_anyway_unless_there_is_nothing_to_score(kit):
    assert kit.service.assign("lead", kit.ingest(shortfall=True).id, ["ana", "ben"]).state == "in_review"
    screening = make_screening(code="empty", shortfall=True)
    screening.report = screening.report.model_copy(update={"details": []})
    with pytest.raises(InvalidTransition, match="no rubric details"):
        kit.service.assign("lead", kit.ingest(screening).id, ["ana", "ben"])


def test_auto_assign_is_round_robin_by_open_assignments(kit):
    first, second, third = (kit.ingest(code=f"S-{n}").id for n in (1, 2, 3))
    kit.service.assign("lead", first, ["ana", "ben"])
    assert kit.service.auto_assign("lead", second).assigned_to == ["cy", "ana"]  # ana's open one is older than ben's
    assert kit.service.auto_assign("lead", third).assigned_to == ["ben", "cy"]


# ---------------------------------------------------------------- who may see and do what


def test_assessors_act_only_on_their_own_assignments(kit):
    sub = kit.in_review()
    with pytest.raises(NotAllowed, match="not assigned to cy"):
        kit.service.open("cy", sub)
    with pytest.raises(NotAllowed, match="not assigned to cy"):
        kit.service.score("cy", sub, "EO1.1", "demonstrated")
    with pytest.raises(NotAllowed, match="only assessors"):
        kit.service.decide("lead", sub, "EO1.1", "confirm")
    with pytest.raises(NotAllowed, match="only assessors"):
        kit.service.open("lead", sub)
    for forbidden in (lambda: kit.service.lead_view("ana", sub), lambda: kit.service.audit("ana"),
                      lambda: kit.service.adjudicate("ana", sub, "EO1.1", "demonstrated", "")):
        with pytest.raises(NotAllowed, match="only leads"):
            forbidden()
    with pytest.raises(NotFound, match="no submission #999"):
        kit.service.open("ana", 999)
    with pytest.raises(NotFound, match="not a detail"):
        kit.service.score("ana", sub, "EO9.9", "demonstrated")


def test_queue_assessor_sees_own_assignments_in_triage_order(kit):
    older_ready = kit.in_review(code="A", statuses={"EO1.2": "evidenced"})
    not_ready = kit.in_review(code="B")
    incomplete = kit.in_review(code="C", shortfall=True)
    newer_ready = kit.in_review(code="D", statuses={"EO1.2": "evidenced"})
    kit.ingest(code="E")  # not assigned
    queue = kit.service.queue("ana")
    assert [q.submission for q in queue] == [incomplete, older_ready, newer_ready, not_ready]
    assert queue[0].incomplete and queue[0].incomplete_reasons and all(q.assigned_to == [] for q in queue)
    assert queue[1].my_progress == "0/3 decided, 0/3 scored" and queue[1].label == "A · attempt 1"
    assert kit.service.queue("cy") == []
    lead_queue = kit.service.queue("lead")
    assert len(lead_queue) == 5 and lead_queue[1].assigned_to == ["ana", "ben"]
    assert_blind("".join(q.model_dump_json() for q in queue + lead_queue))


# ---------------------------------------------------------------- decisions, scores, submit


def test_decide_confirm_and_override_rules(kit):
    sub = kit.in_review()
    with pytest.raises(InvalidInput, match="needs a new status other than weak"):
        kit.service.decide("ana", sub, "EO1.2", "override", "weak", "same")
    with pytest.raises(InvalidInput, match="needs a reason"):
        kit.service.decide("ana", sub, "EO1.2", "override", "missing", " ")
    with pytest.raises(InvalidInput, match="use override"):
        kit.service.decide("ana", sub, "EO1.2", "confirm", "missing")
    kit.service.decide("ana", sub, "EO1.2", "confirm")
    view = kit.service.decide("ana", sub, "EO1.2", "override", "missing", "Only a plan, nothing done yet.")
    detail = next(d for d in view.details if d.detail_id == "EO1.2")
    assert detail.decision == DecisionView(action="override", new_status="missing",
                                          reason="Only a plan, nothing done yet.")


def test_score_not_yet_needs_feedback(kit):
    sub = kit.in_review()
    with pytest.raises(InvalidInput, match="feedback for the earner"):
        kit.service.score("ana", sub, "EO1.1", "not_yet")
    kit.service.score("ana", sub, "EO1.1", "demonstrated")
    view = kit.service.score("ana", sub, "EO1.1", "not_yet", "Show the staff vote.")
    scored = next(d for d in view.details if d.detail_id == "EO1.1").score
    assert scored == ScoreView(score="not_yet", feedback="Show the staff vote.")


def test_submit_needs_every_detail_and_a_consistent_recommendation(kit):
    sub = kit.in_review()
    kit.service.decide("ana", sub, "EO1.1", "confirm")
    with pytest.raises(InvalidTransition, match="not decided: EO1.2, EO2.1; not scored: EO1.1, EO1.2, EO2.1"):
        kit.service.submit("ana", sub, "earned")
    kit.complete("ana", sub, {"EO1.2": "not_yet"}, submit=False)
    with pytest.raises(InvalidInput, match="must follow the scores"):
        kit.service.submit("ana", sub, "earned")
    kit.service.score("ana", sub, "EO1.2", "demonstrated")
    with pytest.raises(InvalidInput, match="must follow the scores"):
        kit.service.submit("ana", sub, "not_yet")
    view = kit.service.submit("ana", sub, "earned", "Solid.")
    assert (view.submitted, view.recommendation, view.state) == (True, "earned", "in_review")
    with pytest.raises(InvalidTransition, match="submitted .* already: no more changes"):
        kit.service.score("ana", sub, "EO1.1", "demonstrated")


# ---------------------------------------------------------------- agreement, adjudication, final result


def test_agreement_is_final_at_once(kit):
    sub = kit.in_review()
    kit.complete("ana", sub)
    assert kit.service.final_result("lead", sub) is None
    assert kit.complete("ben", sub).state == "final"
    final = kit.service.final_result("lead", sub)
    assert (final.result, final.source, final.decided_by) == ("earned", "agreement", "ana, ben")
    assert set(final.per_detail) == set(DETAILS) and final.decided_at is not None
    with pytest.raises(NotAllowed):
        kit.service.final_result("cy", sub)
    assert kit.count(FinalResult) == 1


def test_agreed_not_yet_joins_both_assessors_feedback(kit):
    sub = kit.in_review()
    kit.complete("ana", sub, {"EO1.2": "not_yet"})
    kit.complete("ben", sub, {"EO1.2": "not_yet"})
    final = kit.service.final_result("lead", sub)
    assert final.result == "not_yet_earned"
    assert final.per_detail["EO1.2"] == ScoreView(score="not_yet",
                                                  feedback="ana: feedback on EO1.2\n\nben: feedback on EO1.2")


def test_disagreement_goes_to_the_lead_who_settles_it(kit):
    sub = kit.in_review()
    kit.complete("ana", sub, {"EO1.2": "not_yet"})
    assert kit.service.lead_view("lead", sub).assessor_scores == {}  # nothing before both submitted
    kit.complete("ben", sub, {"EO2.1": "not_yet"})
    view = kit.service.lead_view("lead", sub)
    assert (view.state, view.disputed, view.submitted) == ("adjudication", ["EO1.2", "EO2.1"], True)
    assert view.assessor_scores["ana"]["EO1.2"].score == "not_yet"
    assert view.assessor_scores["ben"]["EO1.2"].score == "demonstrated"
    assert view.assessor_decisions["ana"]["EO1.2"] == DecisionView(action="confirm")
    assert view.earner.name == EARNER["name"]  # the lead sees who it is
    with pytest.raises(InvalidInput, match="EO1.1 is not disputed: the disputed details are EO1.2, EO2.1"):
        kit.service.adjudicate("lead", sub, "EO1.1", "demonstrated", "")
    assert kit.service.adjudicate("lead", sub, "EO1.2", "demonstrated", "").state == "adjudication"
    assert kit.service.lead_view("lead", sub).adjudications == {"EO1.2": ScoreView(score="demonstrated")}
    assert kit.service.adjudicate("lead", sub, "EO2.1", "not_yet", "Show a crew at work.").state == "final"
    view = kit.service.lead_view("lead", sub)
    assert view.state == "final" and view.final.source == "adjudication" and view.final.decided_by == "lead"
    assert view.final.result == "not_yet_earned"
    joined = "ana: feedback on EO1.1\n\nben: feedback on EO1.1"
    assert view.final.per_detail == {"EO1.1": ScoreView(score="demonstrated", feedback=joined),
                                     "EO1.2": ScoreView(score="demonstrated"),
                                     "EO2.1": ScoreView(score="not_yet", feedback="Show a crew at work.")}
    with pytest.raises(InvalidTransition, match="final: adjudicate is allowed only when it is adjudication; "
                                                "allowed now: nothing"):
        kit.service.adjudicate("lead", sub, "EO2.1", "demonstrated", "")


# ---------------------------------------------------------------- blind


@pytest.mark.parametrize("deidentify", ["default", "does-nothing", "fallback"])
def test_assessor_views_are_blind_to_the_earner(db_url, deidentify):
    from prescreen.review.workflow import default_deidentify
    from tests.conftest import ReviewKit

    chosen = {"default": default_deidentify(), "does-nothing": lambda text, names: text, "fallback": fallback_mask}
    kit = ReviewKit(db_url, deidentify=chosen[deidentify])
    try:
        sub = kit.in_review()
        kit.ingest(code="S-2", attempt=1)
        view = kit.complete("ana", sub, {"EO1.2": "not_yet"})
        assert_blind(view.model_dump_json())
        assert_blind("".join(q.model_dump_json() for q in kit.service.queue("ana")))
        detail = view.details[0]
        assert detail.citations[0].context_before and detail.citations[0].context_after
        assert detail.self_analysis[0].explanation and detail.rationale
    finally:
        kit.engine.dispose()


def test_assessor_view_never_shows_the_other_assessors_work(kit):
    sub = kit.in_review()
    kit.complete("ana", sub, submit=False)
    kit.service.decide("ana", sub, "EO1.2", "override", "missing", "ANA-SECRET-REASON")
    kit.service.score("ana", sub, "EO1.2", "not_yet", "ANA-SECRET-FEEDBACK")
    ben = kit.service.open("ben", sub).model_dump_json()
    assert "ANA-SECRET" not in ben and "override" not in ben and "not_yet" not in ben
    kit.service.submit("ana", sub, "not_yet")
    assert "ANA-SECRET" not in kit.service.open("ben", sub).model_dump_json()


def test_ingest_tells_its_progress_step_by_step(kit):
    from prescreen.review.service import STORING

    told: list[str] = []
    path = Path("/bundles/progress")
    kit.screenings[str(path)] = make_screening()
    sub = kit.service.ingest("lead", path, told.append)
    assert told == ["reading the files", "drafting findings", STORING] and sub.state == "awaiting_assignment"


def test_the_whole_cited_page_is_masked_with_the_quote_marked(kit):
    from tests.conftest import PAGE_1

    sub = kit.in_review()
    place = kit.service.cited_place("ana", sub, "EO1.1", 0)
    before, quote, after = place.parts
    assert quote == "Staff adopted our working definition of equity by vote on September 3, 2025"
    assert (place.artifact_id, place.where, place.kind) == ("A1", "p. 1", "page")
    assert len(place.text) > len(PAGE_1) / 2 and before.count("principal of") == 4 and "every grade" in after
    assert_blind(place.model_dump_json())
    assert "[EMAIL]" in place.text and "[PHONE]" in place.text
    assert kit.service.cited_place("ben", sub, "EO2.1", 0).kind == "paragraph"
    with pytest.raises(NotFound, match="no cited passage 2"):
        kit.service.cited_place("ana", sub, "EO1.1", 1)
    with pytest.raises(NotFound, match="not a detail"):
        kit.service.cited_place("ana", sub, "EO9.9", 0)
    with pytest.raises(NotAllowed, match="not assigned to cy"):
        kit.service.cited_place("cy", sub, "EO1.1", 0)
    with pytest.raises(NotAllowed, match="only assessors"):
        kit.service.cited_place("lead", sub, "EO1.1", 0)


def test_a_transcript_place_is_the_stretch_around_the_cited_span():
    from prescreen.models import Segment, Source
    from prescreen.report import Citation
    from prescreen.review.views import place_text

    cues = [(30, 40, "Before the stretch starts."), (100, 110, "We cited this."), (150, 160, "Still close."),
            (300, 310, "Far away.")]
    source = Source(id="V1", file="meeting.vtt", title="Meeting", role="artifact", kind="transcript",
                    segments=[Segment(text=t, start=a, end=b) for a, b, t in cues])
    citation = Citation(artifact_id="V1", start=100, end=110, quote="We cited this", verified=True)
    assert place_text(source, citation) == "Before the stretch starts.\nWe cited this.\nStill close."


def test_citation_context_is_the_text_around_the_quote():
    text = "word " * 100 + "the quoted words here" + " tail" * 100
    before, quote, after = around(text, "The quoted  words here")
    assert quote == "the quoted words here" and text.count(before + quote + after) == 1
    assert 280 <= len(before) <= 300 and before.startswith("word") and after.endswith("tail")
    assert around("no such thing", "missing quote") == ("", "missing quote", "")


def test_identity_terms_and_fallback_mask():
    manifest = make_screening().bundle.manifest
    assert identity_terms(manifest) == [EARNER["name"], EARNER["email"], EARNER["organization"]]
    masked = fallback_mask("Mail tnakamura@example.org, call (555) 123-4567 or 555.123.4567; NAKAMURA's plan.",
                           ["Nakamura"])
    assert masked == "Mail [EMAIL], call [PHONE] or [PHONE]; [PERSON]'s plan."


@pytest.mark.parametrize("deidentify", ["default", "fallback"])
def test_masker_keeps_rubric_ids_and_a_common_word_named_like_the_earner(deidentify):
    from prescreen.review.workflow import Masker, default_deidentify

    masker = Masker(default_deidentify() if deidentify == "default" else fallback_mask,
                    ["Grant Ellison", "gellison@example.org", "Oak Ridge Middle School"])
    text = "EO4.1 is met. Grant wrote the plan; GRANT: thanks. A grant paid for it (see EO4.1 and A2)."
    assert masker(text) == ("EO4.1 is met. [EARNER] wrote the plan; [EARNER]: thanks. A grant paid for it "
                            "(see EO4.1 and A2).")
    assert masker("Ellison's grant") == "[EARNER]'s grant"


def test_one_placeholder_vocabulary_in_every_assessor_view(kit):
    from prescreen.review.deidentify import PLACEHOLDERS

    sub = kit.in_review()
    text = kit.service.open("ana", sub).model_dump_json()
    used = set(re.findall(r"\[[A-Za-z_]+\]", text))
    assert used and used <= set(PLACEHOLDERS.values()), used


# ---------------------------------------------------------------- attempts


def test_attempts_are_linked_and_show_last_feedback(kit):
    first = kit.in_review(statuses={"EO1.2": "weak"})
    kit.complete("ana", first, {"EO1.2": "not_yet"})
    kit.complete("ben", first, {"EO1.2": "not_yet"})
    # same e-mail, another submission id: still the same earner
    second = kit.ingest(code="S-2026-0199", attempt=2, statuses={"EO1.2": "evidenced"})
    assert second.previous == first
    kit.service.assign("lead", second.id, ["ana", "cy"])
    previous = kit.service.open("cy", second.id).previous_attempt
    assert (previous.submission, previous.attempt, previous.result) == (first, 1, "not_yet_earned")
    assert [(p.detail_id, p.feedback) for p in previous.not_yet] == [
        ("EO1.2", "ana: feedback on EO1.2\n\nben: feedback on EO1.2")]
    assert previous.drafted_status_changed == {"EO1.1": False, "EO1.2": True, "EO2.1": False}


def test_attempt_rules(kit):
    with pytest.raises(InvalidTransition, match="at most three attempts"):
        kit.ingest(attempt=4)
    first = kit.in_review()
    with pytest.raises(InvalidTransition, match="still in_review: attempt 2 can be ingested once"):
        kit.ingest(attempt=2, email="other@example.org")  # linked by the same submission id
    kit.complete("ana", first)
    kit.complete("ben", first)
    with pytest.raises(InvalidTransition, match="earned the credential already"):
        kit.ingest(attempt=2)
    assert kit.ingest(code="S-other", attempt=2, email="someone@example.org").previous is None
    assert kit.count(Submission) == 2


# ---------------------------------------------------------------- audit


def test_every_action_is_audited(kit):
    kit.service.authenticate("ana", "ana-test-pass")
    sub = kit.in_review()
    kit.service.open("ana", sub)
    kit.complete("ana", sub, {"EO1.2": "not_yet"})
    kit.complete("ben", sub)
    kit.service.adjudicate("lead", sub, "EO1.2", "demonstrated", "")
    returned = kit.ingest(code="R", shortfall=True).id
    kit.service.return_to_earner("lead", returned, "short")
    actions = [e.action for e in kit.service.audit("lead")]
    for action in ("create_user", "login", "ingest", "assign", "open", "decide", "score", "submit", "disputed",
                   "adjudicate", "finalize", "return"):
        assert action in actions, action
    entries = kit.service.audit("lead", sub)
    assert {e.submission for e in entries} == {sub} and entries[-1].action == "finalize"
    assert [e.detail for e in entries if e.action == "adjudicate"] == ["EO1.2"]
    assert all(e.at.tzinfo is not None for e in entries)


def test_the_review_view_says_who_drafted_each_finding(kit):
    screening = make_screening()
    first = screening.report.details[0].model_copy(update={"drafted_by": "llm:gemma", "fallback_reason": None})
    second = screening.report.details[1].model_copy(update={"drafted_by": "extractive", "fallback_reason": "deadline"})
    screening.report = screening.report.model_copy(update={"details": [first, second, *screening.report.details[2:]]})
    submission = kit.service.assign("lead", kit.ingest(screening).id, ["ana", "ben"]).id
    details = kit.service.open("ana", submission).details
    assert [(d.drafted_by, d.fallback_reason) for d in details[:2]] == [("llm:gemma", None), ("extractive", "deadline")]


# ---------------------------------------------------------------- a detail saved at once; bulk confirm


CONFIRMED = DecisionView(action="confirm")
OVERRIDDEN = DecisionView(action="override", new_status="missing", reason="Only a plan.")


def _stored(kit, sub: int, actor: str, detail: str) -> tuple:
    detail_view = next(d for d in kit.service.open(actor, sub).details if d.detail_id == detail)
    return detail_view.decision, detail_view.score


@pytest.mark.parametrize("save, refused", [
    (dict(action="override", new_status="missing", reason="Only a plan.", score="not_yet", feedback=" "),
     "needs feedback for the earner"),
    (dict(action="override", new_status="missing", reason=" ", score="demonstrated"), "needs a reason"),
    (dict(action="confirm", score="excellent"), "unknown score"),
])
def test_save_detail_stores_nothing_when_either_half_is_refused(kit, save, refused):
    sub = kit.in_review()
    entries = len(kit.service.audit("lead", sub))
    with pytest.raises(InvalidInput, match=refused):
        kit.service.save_detail("ana", sub, "EO1.2", **save)
    assert _stored(kit, sub, "ana", "EO1.2") == (None, None)
    assert kit.count(Decision) == 0 and kit.count(Score) == 0
    assert [e.action for e in kit.service.audit("lead", sub)[entries:]] == ["open"]  # nothing but the check's open


def test_save_detail_writes_decision_and_score_together(kit):
    sub = kit.in_review()
    view = kit.service.save_detail("ana", sub, "EO1.2", action="override", new_status="missing",
                                   reason=" Only a plan. ", score="not_yet", feedback="Show it done.")
    detail = next(d for d in view.details if d.detail_id == "EO1.2")
    assert (detail.decision, detail.score) == (OVERRIDDEN, ScoreView(score="not_yet", feedback="Show it done."))
    kit.service.save_detail("ana", sub, "EO1.2", action="confirm", reason="left over from the override",
                            score="demonstrated")
    assert _stored(kit, sub, "ana", "EO1.2") == (CONFIRMED, ScoreView(score="demonstrated"))
    assert [e.action for e in kit.service.audit("lead", sub) if e.detail == "EO1.2"] == ["decide", "score"] * 2
    with pytest.raises(NotAllowed, match="not assigned to cy"):
        kit.service.save_detail("cy", sub, "EO1.2", action="confirm", score="demonstrated")


def test_a_confirmation_keeps_no_override_reason(kit):
    sub = kit.in_review()
    kit.service.decide("ana", sub, "EO1.2", "override", "missing", "Only a plan.")
    kit.service.decide("ana", sub, "EO1.2", "confirm", reason="Only a plan.")
    assert _stored(kit, sub, "ana", "EO1.2")[0] == CONFIRMED


def test_bulk_confirm_records_each_detail_and_keeps_overrides(kit):
    sub = kit.in_review()
    kit.service.decide("ana", sub, "EO1.2", "override", "missing", "Only a plan.")
    with pytest.raises(NotFound, match="not a detail"):
        kit.service.bulk_confirm("ana", sub, ["EO1.1", "EO9.9"])
    assert kit.count(Decision) == 1  # the unknown detail refused the whole action
    with pytest.raises(InvalidInput, match="choose the details"):
        kit.service.bulk_confirm("ana", sub, [])
    view = kit.service.bulk_confirm("ana", sub, ["EO1.1", "EO1.2", "EO2.1", "EO1.1"])
    assert [d.decision for d in view.details] == [CONFIRMED, OVERRIDDEN, CONFIRMED]
    assert kit.count(Decision) == 3
    confirmed = [(e.detail, e.note) for e in kit.service.audit("lead", sub) if e.action == "decide"]
    assert confirmed == [("EO1.2", "override -> missing"), ("EO1.1", "confirm"), ("EO2.1", "confirm")]
    assert _stored(kit, sub, "ben", "EO1.1") == (None, None)  # one assessor's bulk action is theirs alone
    kit.complete("ana", sub, submit=False)
    kit.service.submit("ana", sub, "earned")
    with pytest.raises(InvalidTransition, match="no more changes"):
        kit.service.bulk_confirm("ana", sub, ["EO1.1"])


# ---------------------------------------------------------------- a bad upload leaves nothing


@pytest.fixture
def real_screener_kit(kit, tmp_path):
    """The kit with the real Screener (a fake embedder): bundles are opened and refused for real."""
    from prescreen.pipeline import Screener
    from prescreen.settings import Settings
    from tests.fakes import StemHashEmbeddings

    kit.service.screen = Screener(Settings(data_dir=tmp_path / "data"), embedder=StemHashEmbeddings()).screen
    return kit


def _bad_uploads(folder) -> dict[str, object]:
    import zipfile

    folder.mkdir(parents=True)
    (folder / "fake.txt").write_text("not a bundle")
    (folder / "renamed.zip").write_bytes(b"PK\x03\x04 but not really a zip")
    with zipfile.ZipFile(folder / "no-manifest.zip", "w") as archive:
        archive.writestr("overview.md", "An overview without its submission.yaml.")
    return {"fake.txt": "a bundle is a folder or a .zip", "renamed.zip": "not a readable zip",
            "no-manifest.zip": "no submission.yaml"}


def test_a_bad_upload_creates_nothing_and_names_only_the_file(real_screener_kit, tmp_path):
    kit = real_screener_kit
    folder = tmp_path / "gradio" / "a1b2c3"  # where an upload lands on the server
    before = (kit.count(Submission), kit.count(ScreeningRun))
    for name, problem in _bad_uploads(folder).items():
        with pytest.raises(InvalidInput, match=problem) as refused:
            kit.service.ingest("lead", folder / name)
        message = str(refused.value)
        assert message.startswith(f"cannot be screened: {name}: ") and "Nothing was added" in message
        assert str(tmp_path) not in message and "/" not in message.replace(" and/or ", ""), message
    assert (kit.count(Submission), kit.count(ScreeningRun)) == before
    assert kit.service.queue("lead") == []
    refused = [e for e in kit.service.audit("lead") if e.action == "ingest_refused"]
    assert [e.note.split(": ")[1] for e in refused] == ["fake.txt", "renamed.zip", "no-manifest.zip"]
    assert all(e.submission is None and str(tmp_path) not in e.note for e in refused)


def test_a_screener_that_raises_a_bundle_error_creates_nothing(kit):
    from prescreen.errors import UnsafeArchiveError

    def hostile(path):
        raise UnsafeArchiveError(f"zip entry '../../etc/passwd' would be written outside {path.parent}/work")

    kit.service.screen = hostile
    with pytest.raises(InvalidInput, match="cannot be screened: evil.zip: zip entry") as refused:
        kit.service.ingest("lead", "/srv/uploads/tmp123/evil.zip")
    assert "/srv" not in str(refused.value) and "tmp123" not in str(refused.value)
    assert kit.count(Submission) == 0


def test_scrub_paths_keeps_words_and_cuts_paths():
    from pathlib import Path

    from prescreen.review.workflow import scrub_paths

    bundle = Path("/tmp/gradio/xyz/bundle.zip")
    assert scrub_paths("/tmp/gradio/xyz/bundle.zip: and/or p. 3/4 'C:\\Users\\me\\a.zip' /var/x/", bundle) == (
        "bundle.zip: and/or p. 3/4 'a.zip' x")


# ---------------------------------------------------------------- assessors see the final result, blind


def test_assessors_see_the_final_result_once_final_blind_to_names(kit):
    sub = kit.in_review()
    kit.complete("ana", sub, {"EO1.2": "not_yet"})
    assert kit.service.final_result("ana", sub) is None
    kit.complete("ben", sub, submit=False)
    kit.service.score("ben", sub, "EO2.1", "not_yet", "Show the crew roster.")
    kit.service.submit("ben", sub, "not_yet")
    kit.service.adjudicate("lead", sub, "EO1.2", "not_yet", "Show the data, Ms. Nakamura.")
    kit.service.adjudicate("lead", sub, "EO2.1", "demonstrated", "")
    for assessor in ("ana", "ben"):
        final = kit.service.final_result(assessor, sub)
        assert (final.result, final.source, final.decided_by) == ("not_yet_earned", "adjudication", "the program lead")
        assert final.per_detail["EO1.2"].score == "not_yet" and "Show the data" in final.per_detail["EO1.2"].feedback
        text = final.model_dump_json() + kit.service.open(assessor, sub).model_dump_json()
        assert_blind(text)
        assert "ana" not in text.split('"') and "ben" not in text.split('"')  # no username as a value
    assert kit.service.final_result("lead", sub).decided_by == "lead"
    with pytest.raises(NotAllowed):
        kit.service.final_result("cy", sub)


def test_assessors_read_an_agreed_result_without_names(kit):
    sub = kit.in_review()
    kit.complete("ana", sub)
    kit.complete("ben", sub)
    assert kit.service.final_result("ana", sub).decided_by == "both assessors"
    assert kit.service.final_result("lead", sub).decided_by == "ana, ben"


# ---------------------------------------------------------------- the lead adjudicates with the evidence


def test_lead_view_carries_the_evidence_and_both_assessors_work_per_disputed_detail(kit):
    sub = kit.in_review()
    kit.complete("ana", sub, submit=False)
    kit.service.save_detail("ana", sub, "EO1.2", action="override", new_status="missing", reason="Only a plan.",
                            score="not_yet", feedback="Show the data work itself.")
    kit.service.submit("ana", sub, "not_yet")
    assert kit.service.lead_view("lead", sub).adjudication == []  # nothing before both submitted
    kit.complete("ben", sub)
    items = kit.service.lead_view("lead", sub).adjudication
    assert [i.detail_id for i in items] == ["EO1.2"]
    item = items[0]
    assert item.detail_text == "Examines data." and item.drafted.drafted_status == "weak"
    assert item.drafted.citations[0].quote == "examined attendance data by subgroup with all staff"
    ana, ben = item.assessors
    assert (ana.assessor, ana.action, ana.new_status, ana.reason, ana.score, ana.feedback) == (
        "ana", "override", "missing", "Only a plan.", "not_yet", "Show the data work itself.")
    assert (ben.assessor, ben.action, ben.new_status, ben.score, ben.feedback) == (
        "ben", "confirm", None, "demonstrated", "ben: feedback on EO1.2")
    assert item.lead_score is None
    kit.service.adjudicate("lead", sub, "EO1.2", "not_yet", "Show it done.")
    settled = kit.service.lead_view("lead", sub).adjudication[0]
    assert (settled.lead_score, settled.lead_feedback) == ("not_yet", "Show it done.")


# ---------------------------------------------------------------- the rules the UI reads its choices from


def test_rules_say_which_actions_and_choices_exist():
    from prescreen.review.workflow import allowed_now, override_choices, recommendation_of

    assert allowed_now("incomplete") == ["assign", "return_to_earner", "ingest_again"]
    assert allowed_now("in_review") == ["decide", "score", "submit"]
    assert allowed_now("final") == []
    assert override_choices("weak") == ["evidenced", "missing"]
    demonstrated, not_yet = ScoreView(score="demonstrated"), ScoreView(score="not_yet", feedback="Show it.")
    assert recommendation_of({"EO1.1": demonstrated, "EO1.2": demonstrated}) == "earned"
    assert recommendation_of({"EO1.1": demonstrated, "EO1.2": not_yet}) == "not_yet"


# ---------------------------------------------------------------- reading the whole submission


def with_transcript():
    """The usual screening plus a transcript whose cues name a staff member and the earner."""
    from prescreen.models import Segment, Source

    screening = make_screening()
    cues = ["Welcome to the data meeting.", "Ms. Alvarez led the data team through the attendance charts.",
            "Teresa Nakamura asked each grade to set a target."]
    screening.sources["V1"] = Source(id="V1", file="artifacts/meeting.vtt", title="Data meeting", role="artifact",
                                     kind="transcript", segments=[Segment(text=c, start=10.0 * i, end=10.0 * i + 8)
                                                                  for i, c in enumerate(cues)])
    return screening


def test_an_assessor_reads_any_file_of_the_submission_whole_masked_and_by_place(db_url):
    from prescreen.review.workflow import default_deidentify
    from tests.conftest import ReviewKit

    kit = ReviewKit(db_url, deidentify=default_deidentify())
    try:
        sub = kit.ingest(screening=with_transcript())
        sub = kit.service.assign("lead", sub.id, ["ana", "ben"]).id
        pdf = kit.service.read_source("ana", sub, "A1")
        assert [p.where for p in pdf.places] == ["p. 1", "p. 2"] and pdf.focus == []
        assert "Staff adopted our working definition" in pdf.places[0].text and "[EMAIL]" in pdf.places[0].text
        video = kit.service.read_source("ana", sub, "V1", "0:13")
        assert [p.where for p in video.places] == ["00:00:00-00:00:08", "00:00:10-00:00:18", "00:00:20-00:00:28"]
        assert video.focus == [1] and "led the data team" in video.places[1].text
        for view in (pdf, video, kit.service.read_source("ana", sub, "A2", "para 1")):
            assert_blind(view.model_dump_json())
            assert "alvarez" not in view.model_dump_json().lower()
        assert kit.service.read_source("ben", sub, "A1", "p. 2").focus == [1]
        missing = kit.service.read_source("ana", sub, "A1", "p. 9")
        assert missing.focus == [] and "not a place of this file" in missing.notes[0]
    finally:
        kit.engine.dispose()


def test_reading_a_file_is_for_the_submissions_assessors_only(kit):
    sub = kit.in_review()
    kit.service.create_user("erin", "erin-test-pass", "earner")
    with pytest.raises(NotAllowed, match="not assigned to cy"):
        kit.service.read_source("cy", sub, "A1")
    for actor in ("lead", "erin"):
        with pytest.raises(NotAllowed, match="only assessors"):
            kit.service.read_source(actor, sub, "A1")
    with pytest.raises(NotFound, match="read one of A1, A2"):
        kit.service.read_source("ana", sub, "A9")


def test_assigning_masks_ahead_what_the_assessors_open_first(kit):
    """The Masker of the submission's snapshot is filled in the background at assignment, so the first opening
    finds what it shows already masked; warming everything in review does the same at the app's start."""
    kit.service.mask_ahead = True  # as ReviewService.from_settings makes it for the app
    sub = kit.ingest()
    kit.service.assign("lead", sub.id, ["ana", "ben"])
    [thread] = [t for t in threading.enumerate() if t.name == "prescreen-warm"] or [None]
    if thread is not None:
        thread.join(timeout=60)
    with kit.service.sessions() as s:
        snap = kit.service.snapshots.latest(s, s.get_one(Submission, sub.id))
    masked = dict(snap.mask.cache)
    assert masked, "nothing was masked ahead"
    view = kit.service.open("ana", sub.id)
    shown = {c.quote for d in view.details for c in d.citations}
    assert shown and shown <= set(masked.values()), "the first opening masked what was not warmed"
    kit.service.warm_in_background().join(timeout=60)  # all in review: no error, the cache kept
    assert snap.mask.cache.keys() >= masked.keys()
