"""A program's review policy: assessor calibration against the gold set, and the anchoring check.

Each group reads its own environment variables (PRESCREEN_CALIBRATION_*, PRESCREEN_ANCHORING_*) when it is
made, at the edge (the CLI, the app); the service is handed a ProgramSettings and never reads the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CalibrationSettings(BaseSettings):
    """PRESCREEN_CALIBRATION_REQUIRED, PRESCREEN_CALIBRATION_GOLD_REVIEWS, PRESCREEN_CALIBRATION_THRESHOLD."""

    model_config = SettingsConfigDict(env_prefix="PRESCREEN_CALIBRATION_", extra="ignore")

    required: bool = Field(False, description="Every assessor must pass calibration before live work; otherwise "
                           "only those a lead asked to calibrate, and those below the threshold, are held back.")
    gold_reviews: int = Field(2, ge=1, description="Gold submissions an assessor scores before the agreement counts.")
    threshold: float = Field(0.8, ge=0, le=1, description="Agreement with the true scores needed to pass "
                             "(BloomBoard holds assessors to 80%).")


class AnchoringSettings(BaseSettings):
    """PRESCREEN_ANCHORING_CHECK=true: one of the two assessors of each submission scores without the AI draft."""

    model_config = SettingsConfigDict(env_prefix="PRESCREEN_ANCHORING_", extra="ignore")

    check: bool = Field(False, description="Hide the AI draft from one of the two assessors, chosen at random and "
                        "recorded, so the audit can compare agreement with and without it.")


class ProgramSettings(BaseModel):
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    anchoring: AnchoringSettings = Field(default_factory=AnchoringSettings)
