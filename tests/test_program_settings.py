"""The program's review policy comes from the one Settings object (PRESCREEN_CALIBRATION_*, PRESCREEN_ANCHORING_*)
and reaches the review service built from settings; a service made without settings never reads the environment."""

from __future__ import annotations

from prescreen.review.program import ProgramSettings
from prescreen.review.workflow import ReviewService
from prescreen.settings import Settings


def test_the_policy_is_read_from_the_environment_into_the_service(monkeypatch, tmp_path):
    monkeypatch.setenv("PRESCREEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PRESCREEN_CALIBRATION_REQUIRED", "true")
    monkeypatch.setenv("PRESCREEN_CALIBRATION_THRESHOLD", "0.9")
    monkeypatch.setenv("PRESCREEN_ANCHORING_CHECK", "true")
    program = ReviewService.from_settings(Settings()).program
    assert (program.calibration.required, program.calibration.threshold) == (True, 0.9)
    assert program.anchoring.check is True


def test_without_settings_the_defaults_hold_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("PRESCREEN_ANCHORING_CHECK", "true")
    program = ProgramSettings()
    assert program.anchoring.check is False and program.calibration.threshold == 0.8
