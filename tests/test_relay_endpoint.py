"""The file relay the LLM drafter is measured through (benchmarks/relay_endpoint.py): a real OpenAI client asks,
a reader answers through the queue folder, the client gets the reader's words."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import openai

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from relay_endpoint import Relay  # noqa: E402


def test_a_request_waits_in_the_queue_until_a_reader_answers(tmp_path):
    relay = Relay(tmp_path)
    threading.Thread(target=relay.serve_forever, daemon=True).start()
    replies: list[str] = []
    client = openai.OpenAI(base_url=relay.url, api_key="relay", max_retries=0)

    def ask() -> None:
        reply = client.chat.completions.create(
            model="reader", messages=[{"role": "system", "content": "Rules."}, {"role": "user", "content": "Judge."}],
            response_format={"type": "json_object"})
        replies.append(reply.choices[0].message.content or "")

    asking = threading.Thread(target=ask)
    asking.start()
    try:
        deadline = time.monotonic() + 10
        while not list((tmp_path / "queue").glob("*.md")) and time.monotonic() < deadline:
            time.sleep(0.05)
        (request,) = (tmp_path / "queue").glob("*.md")
        text = request.read_text()
        assert "SYSTEM MESSAGE ========\nRules." in text and "USER MESSAGE ========\nJudge." in text
        assert '"json_object"' in text and not replies  # still waiting for the reader
        (tmp_path / "answers" / f"{request.stem}.json").write_text('{"details": []}')
        asking.join(10)
        assert replies == ['{"details": []}']
        assert len(list((tmp_path / "log").glob("*.json"))) == 1
    finally:
        relay.shutdown()
        relay.server_close()
