"""Fakes for unit tests: an embedder with a little meaning and no model. Real components have their own tests."""

from __future__ import annotations

import hashlib
import math

from langchain_core.embeddings import Embeddings

from prescreen.textutil import stems


class StemHashEmbeddings(Embeddings):
    """Bag of word stems hashed into a fixed-size vector: texts that share words are close.

    Counts the texts it embeds, so tests can assert what was (not) embedded.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.size
        for stem in stems(text) or ["_empty_"]:
            vec[int(hashlib.md5(stem.encode()).hexdigest(), 16) % self.size] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]


# ---------------------------------------------------------------- a chat model scripted by the test

import json as _json  # noqa: E402
import re as _re  # noqa: E402
from collections.abc import Callable  # noqa: E402

from langchain_core.language_models.fake_chat_models import FakeListChatModel  # noqa: E402
from langchain_core.messages import AIMessage  # noqa: E402
from langchain_core.outputs import ChatGeneration, ChatResult  # noqa: E402


class ScriptedChatModel(FakeListChatModel):
    """LangChain's fake chat model, answering with `script(messages)`; records every prompt it is sent."""

    script: Callable = lambda messages: "{}"
    prompts: list = []
    reject_response_format: bool = False  # behave like a server with no structured output

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        if self.reject_response_format and "response_format" in kwargs:
            import httpx
            import openai

            response = httpx.Response(400, request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions"))
            raise openai.BadRequestError("response_format is not supported", response=response, body=None)
        self.prompts.append(messages)
        text = self.script(messages)
        usage = {"input_tokens": sum(len(str(m.content)) for m in messages) // 4, "output_tokens": len(text) // 4}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text, usage_metadata=usage))])


def passages_in(prompt: str) -> dict[str, str]:
    """Passage id -> text, as the drafter rendered them into the prompt."""
    return dict(_re.findall(r'<passage id="(P\d+)"[^>]*>\n(.*?)\n</passage>', prompt, flags=_re.S))


def details_in(prompt: str) -> list[str]:
    return _re.findall(r"^- ([A-Z]+\d*\.\d+):", prompt, flags=_re.M)


def answer(details: list[str], status: str = "evidenced", citations: dict | None = None,
           statuses: dict | None = None) -> str:
    """A well-formed answer: every detail with `status` (or `statuses[detail]`), citations {detail: [(pid, quote)]}."""
    citations, statuses = citations or {}, statuses or {}
    return _json.dumps({"details": [
        {"detail_id": d, "status": statuses.get(d, status), "confidence": 0.8, "rationale": "scripted",
         "citations": [{"passage_id": p, "quote": q} for p, q in citations.get(d, [])]}
        for d in details
    ]})
