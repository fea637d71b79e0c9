"""Shared fixtures. Every test runs without API keys, prescreen settings from the environment,
or the user's data folder."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """No OPENAI_API_KEY and no PRESCREEN_* variables; data goes to tmp_path/"data"."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name in [n for n in os.environ if n.startswith("PRESCREEN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PRESCREEN_DATA_DIR", str(tmp_path / "data"))
    return tmp_path
