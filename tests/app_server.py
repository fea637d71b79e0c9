"""The review app as its users run it, for the tests that drive it over HTTP or in a browser: the CLI to set it
up (`prescreen users add`, `prescreen ingest`), and `python app.py` in a subprocess on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import free_port, stop, wait_until_up

ROOT = Path(__file__).resolve().parents[1]
CLI = "from prescreen.cli import main; main()"  # as the `prescreen` script runs it


def app_env(data_dir: Path, **extra: str) -> dict:
    """This process's environment without API keys, prescreen settings or another database; data in `data_dir`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PRESCREEN_") and k not in ("DATABASE_URL", "OPENAI_API_KEY")}
    env["PRESCREEN_DATA_DIR"] = str(data_dir)
    return {**env, "GRADIO_ANALYTICS_ENABLED": "False", **extra}


def run_cli(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CLI, *args], input=stdin, text=True, env=env,
                          capture_output=True, cwd=ROOT, timeout=600)


@contextmanager
def running_app(env: dict, log: Path) -> Iterator[str]:
    """`python app.py` on a free port until the block ends; yields its URL (with a trailing slash)."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   env={**env, "PRESCREEN_UI_PORT": str(port)})
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, process, log, "the app", seconds=120)
        yield url
    finally:
        stop(process)
