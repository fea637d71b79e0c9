"""Rubric lint: close detail pairs by embedding (a fake embedder here, the real model in the slow tests), shared
look-fors, and what the review data shows (rarely evidenced details, disagreement)."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from prescreen.audit import build_audit
from prescreen.audit.html import render_html
from prescreen.audit.lint import lint_audit, lint_data, lint_rubric, shared_look_fors
from prescreen.cli import main
from prescreen.models import Rubric
from tests.audit_data import fill_reviewed
from tests.fakes import StemHashEmbeddings

CLOSE = ("Examines attendance data by student subgroup with staff to find gaps.",
         "Examines attendance data by subgroup with the staff to find the gaps.")


@pytest.fixture
def reviewed(kit):
    return fill_reviewed(kit)


def rubric_doc(texts: list[str], look_fors: list[list[str]] | None = None) -> dict:
    look_fors = look_fors or [[] for _ in texts]
    details = [{"id": f"EO1.{i + 1}", "text": t, "look_fors": lf}
               for i, (t, lf) in enumerate(zip(texts, look_fors, strict=True))]
    return {"id": "lint-test", "title": "Lint test", "version": "1",
            "parts": [{"id": "overview", "title": "Overview", "minimum_words": 10}],
            "outcomes": [{"id": "EO1", "title": "Equity", "details": details}]}


def make_rubric(texts: list[str], look_fors: list[list[str]] | None = None) -> Rubric:
    return Rubric.model_validate(rubric_doc(texts, look_fors))


def test_close_details_are_flagged_and_the_closest_others_shown():
    rubric = make_rubric([*CLOSE, "Builds mentoring crews so every student has an adult.",
                          "Publishes a family newsletter every month."])
    result = lint_rubric(rubric, StemHashEmbeddings(), threshold=0.7, top=3)
    first = result.pairs[0]
    assert (first.first, first.second, first.flagged) == ("EO1.1", "EO1.2", True) and first.similarity > 0.7
    assert len(result.pairs) == 3 and not any(p.flagged for p in result.pairs[1:])
    assert [p.similarity for p in result.pairs] == sorted((p.similarity for p in result.pairs), reverse=True)
    assert result.problems == 1
    everything = lint_rubric(rubric, StemHashEmbeddings(), threshold=0.0, top=0)
    assert len(everything.pairs) == 6 and all(p.flagged for p in everything.pairs)  # flagged ones are never cut


def test_shared_look_fors_are_found_case_and_spacing_folded():
    rubric = make_rubric(["Defines equity.", "Examines data.", "Mentors."],
                         [["equity audit", "vote"], ["Equity  Audit"], ["crews"]])
    [shared] = shared_look_fors(rubric)
    assert (shared.look_for, shared.details) == ("equity audit", ["EO1.1", "EO1.2"])
    assert lint_rubric(rubric, StemHashEmbeddings(), threshold=1.01).problems == 1


def test_lint_from_the_review_data(reviewed):
    audit = build_audit(reviewed.service.sessions)
    data = lint_data(audit, rare_at_most=0.5)
    assert [(r.detail_id, r.demonstrated_rate, r.never) for r in data.rarely_evidenced] == [("EO1.2", 0.5, False)]
    assert lint_data(audit, rare_at_most=0.2).rarely_evidenced == []
    assert [(r.detail_id, r.stats.agreement) for r in data.assessor_disagreement] == [("EO1.2", 0.5)]
    assert [(r.detail_id, r.stats.agreement) for r in data.ai_disagreement] == [("EO1.2", 0.5)]


def test_lint_section_of_the_audit(reviewed):
    audit = build_audit(reviewed.service.sessions)
    lint = lint_audit(audit, StemHashEmbeddings())
    assert [r.rubric for r in lint.rubrics] == ["test-credential"] and len(lint.rubrics[0].pairs) == 3
    names = [t.name for t in lint.tables()]
    assert names == ["lint_similar", "lint_shared_look_fors", "lint_rare", "lint_assessors", "lint_ai"]
    page = render_html(audit, [("Rubric lint", lint.tables())])
    assert "<h2>Rubric lint</h2>" in page and "Details where assessors disagree most" in page
    unlinted = lint_audit(audit)
    assert unlinted.rubrics == [] and "no embedder" in unlinted.tables()[0].note


# ---------------------------------------------------------------- the real model, through the command


@pytest.mark.slow
def test_rubrics_lint_command_with_the_real_model(tmp_path):
    close = tmp_path / "close.yaml"
    close.write_text(yaml.safe_dump(rubric_doc([*CLOSE, "Builds mentoring crews so every student has an adult."])))
    runner = CliRunner()
    flagged = runner.invoke(main, ["rubrics", "lint", str(close), "--no-reviews"])
    assert flagged.exit_code == 1, flagged.output
    assert "FLAG EO1.1 ~ EO1.2" in flagged.output and "1 problem(s) found" in flagged.output
    assert "FLAG EO1.1 ~ EO1.3" not in flagged.output and "EO1.1 ~ EO1.3" in flagged.output
    shipped = runner.invoke(main, ["rubrics", "lint", "leading-an-equitable-learning-culture",
                                   "el-education-leadership-core-practices", "--reviews"])
    assert shipped.exit_code == 0, shipped.output
    assert "FLAG" not in shipped.output
    assert "leading-an-equitable-learning-culture: from the review data" in shipped.output
