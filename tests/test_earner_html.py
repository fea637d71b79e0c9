"""The earner's screens as HTML (ui/earner_html.py): what the earner typed is escaped, the self-check is a pre-check
with no score, a standing says why it came back and shows feedback per detail, and the .zip downloads from the page."""

from __future__ import annotations

import base64
import zipfile
from datetime import UTC, datetime

from prescreen.earner.assemble import ArtifactDraft, Draft
from prescreen.earner.selfcheck import DetailCheck, Found, Note, SelfCheck
from prescreen.earner.service import DetailFeedback, Standing
from prescreen.earner.store import StoredDraft, UploadInfo
from prescreen.ui.earner_html import artifacts_html, download_html, selfcheck_html, standing_html

NOW = datetime(2026, 11, 30, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def a_standing(**changes) -> Standing:
    return Standing(**({"draft_id": 3, "credential": "tiny-mentoring", "attempt": 1, "status": "submitted",
                        "words": "submitted: waiting for assessors", "submission_code": "S-1", "updated_at": NOW}
                       | changes))


def test_what_the_earner_wrote_is_escaped():
    stored = StoredDraft(id=1, credential="tiny-mentoring", attempt=1, status="draft", updated_at=NOW, owner="jo",
                         created_at=NOW, draft=Draft(credential="tiny-mentoring", artifacts=[
                             ArtifactDraft(id="A1", title=HOSTILE, upload="a.pdf")]),
                         uploads=[UploadInfo(name="a.pdf", size=2048, sha256="0" * 64)])
    html = artifacts_html(stored)
    assert HOSTILE not in html and "&lt;script&gt;" in html and "2 KB" in html


def test_the_self_check_is_a_pre_check_without_a_score():
    check = SelfCheck(credential="tiny-mentoring", details=[DetailCheck(
        detail_id="EO1.2", outcome_id="EO1", text="Publishes the bus budget.",
        found=[Found(artifact_id="A1", title="Roster", where="p. 3", quote=HOSTILE)],
        notes=[Note(kind="pointer_out_of_range", must_fix=True, says="Your pointer p. 7: this file has 5 pages.",
                    fix="Point to a place that exists.")])])
    html = selfcheck_html(check)
    assert "PRE-CHECK, NOT AN ASSESSMENT." in html and "1 to fix before you submit" in html
    assert "Must fix:</span> Your pointer p. 7: this file has 5 pages." in html and HOSTILE not in html
    assert "Pre-check, not an assessment. Pre-check" not in html  # the label is said once
    assert selfcheck_html(SelfCheck(credential="x")).count("Nothing must be fixed before you submit.") == 1


def test_a_standing_says_why_it_came_back_and_gives_feedback_per_detail():
    returned = standing_html(a_standing(status="returned", words="returned", reasons=["Part 1 is too short."]))
    assert "Why it was returned" in returned and "Part 1 is too short." in returned
    flagged = standing_html(a_standing(reasons=["part overview has 12 words, below its minimum of 40"]))
    assert "pre-check found it incomplete" in flagged and "Why it was returned" not in flagged
    final = standing_html(a_standing(status="not_yet_earned", words="not yet earned", decided_at=NOW, feedback=[
        DetailFeedback(detail_id="EO1.2", text="Publishes the bus budget.", score="not_yet", feedback=HOSTILE)]))
    assert "Feedback per detail (final result, 2026-11-30)" in final and "not yet" in final and HOSTILE not in final
    assert "once the result is final" in standing_html(a_standing())


def test_the_zip_downloads_from_the_page(tmp_path):
    archive = tmp_path / "S-1-attempt-1.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("submission.yaml", "format: 1\n")
    html = download_html(archive)
    data = html.split("base64,", 1)[1].split("'", 1)[0]
    assert "download='S-1-attempt-1.zip'" in html and base64.b64decode(data) == archive.read_bytes()
