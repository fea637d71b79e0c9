"""A program's review policy: assessor calibration against the gold set, and the anchoring check.

Both are groups of the one Settings object (PRESCREEN_CALIBRATION_*, PRESCREEN_ANCHORING_*), read at the edge;
the service is handed a ProgramSettings and never reads the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from prescreen.settings import AnchoringSettings, CalibrationSettings, Settings

__all__ = ["AnchoringSettings", "CalibrationSettings", "ProgramSettings"]


class ProgramSettings(BaseModel):
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    anchoring: AnchoringSettings = Field(default_factory=AnchoringSettings)

    @classmethod
    def from_settings(cls, settings: Settings) -> ProgramSettings:
        return cls(calibration=settings.calibration, anchoring=settings.anchoring)
