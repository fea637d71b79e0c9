"""The LLM drafter: any OpenAI-compatible model drafts findings, one call per essential outcome.

Never trusted: the model may cite only passage ids it was shown, every quote goes through the shared
verifier, and text that addresses an AI or an assessor is taken out of the passages before the model
sees them. A failure for one outcome (timeout, refusals, invalid answers, the token budget) hands that
outcome to the extractive drafter, and the report says so.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field, ValidationError

from prescreen.checks import is_instruction
from prescreen.chunking import segments_in
from prescreen.drafting import Draft, ExtractiveDrafter, relevance
from prescreen.errors import ConfigurationError
from prescreen.locators import describe
from prescreen.models import Chunk, Detail, Outcome, Rubric, Source, Status
from prescreen.prompts import PromptTemplate, load_prompt
from prescreen.report import Citation, DetailFinding, LLMUsage
from prescreen.retrieve import Candidate
from prescreen.settings import Settings
from prescreen.textutil import sentence_spans
from prescreen.verify import normalise

REDACTED = "[removed: text addressing an AI or an assessor]"
TRIM_RELEVANT_AT = 0.12  # lexical relevance (no vector) at which a sentence is kept in a trimmed passage
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


# ---------------------------------------------------------------- what the model must answer


class DraftedCitation(BaseModel):
    passage_id: str = Field(description="The id of a passage shown, e.g. P3.")
    quote: str = Field(description="Exact words copied from that passage.")


class DraftedDetail(BaseModel):
    detail_id: str
    status: Status
    confidence: float = Field(ge=0, le=1)
    citations: list[DraftedCitation] = Field(default_factory=list, max_length=3)
    rationale: str = Field(description="One or two sentences for the assessor.")


class OutcomeDraft(BaseModel):
    details: list[DraftedDetail]


# ---------------------------------------------------------------- passages shown to the model


class Passage(BaseModel):
    id: str
    chunk: Chunk
    label: str
    text: str = Field("", description="What the model is shown: the chunk's sentences that bear on the outcome "
                      "(empty: the whole chunk).")


def passages_for(outcome: Outcome, evidence: dict[str, list[Candidate]], sources: dict[str, Source], limit: int,
                 trim: bool = True) -> list[Passage]:
    """The outcome's candidate chunks, each detail's best taken in turn, de-duplicated, in reading order.

    With `trim`, a passage keeps only the sentences that bear on one of the outcome's details (and their
    neighbours): the model reads evidence, not whole pages.
    """
    chunks = _round_robin([_ranked(evidence.get(d.id, [])) for d in outcome.details], limit)
    chunks.sort(key=lambda c: (c.source_id, c.page or 0, c.start or 0, c.char_start))
    return [
        Passage(id=f"P{i + 1}", chunk=c, label=_label(c, sources),
                text=trimmed(c.text, outcome.details) if trim else c.text)
        for i, c in enumerate(chunks)
    ]


def _ranked(candidates: list[Candidate]) -> list[Chunk]:
    return [c.chunk for c in sorted(candidates, key=lambda c: -(c.fused + (0.01 if c.pointed_by_earner else 0.0)))]


def _round_robin(rankings: list[list[Chunk]], limit: int) -> list[Chunk]:
    picked: dict[str, Chunk] = {}
    for rank in range(max(map(len, rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and len(picked) < limit:
                picked.setdefault(ranking[rank].id, ranking[rank])
    return list(picked.values())


def trimmed(text: str, details: list[Detail], neighbours: int = 1) -> str:
    """The sentences that share words with a detail or its look-fors, with their neighbours, as they stand
    in the text (line and paragraph breaks kept); what was left out is marked by a line '…'."""
    spans = sentence_spans(text)
    hits = {i for i, (a, b) in enumerate(spans) if any(relevance(d, text[a:b], 0.0) >= TRIM_RELEVANT_AT for d in details)}
    keep = sorted({j for i in hits for j in range(i - neighbours, i + neighbours + 1) if 0 <= j < len(spans)})
    keep = keep or list(range(min(2, len(spans))))
    runs: list[list[int]] = []
    for i in keep:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return "\n…\n".join(text[spans[run[0]][0] : spans[run[-1]][1]] for run in runs)


def _label(chunk: Chunk, sources: dict[str, Source]) -> str:
    """Where a passage comes from; the ids come from the earner's manifest, so only safe characters pass."""
    source = sources.get(chunk.source_id)
    role = "narrative part" if source and source.role == "part" else "artifact"
    return f"{_SAFE_ID.sub('_', chunk.source_id)[:40]} ({role}), {chunk.where}"


def passage_text(text: str) -> str:
    """Passage text as data: instruction-like sentences removed, no way to close the delimiter."""
    spans = sentence_spans(text)
    for a, b in reversed(spans):
        if is_instruction(text[a:b]):
            text = text[:a] + REDACTED + text[b:]
    return text.replace("</passage", "< /passage")


def render_passages(passages: list[Passage]) -> str:
    return "\n".join(f'<passage id="{p.id}" source="{p.label}">\n{passage_text(p.text or p.chunk.text)}\n</passage>' for p in passages)


def render_details(details: list[Detail]) -> str:
    return "\n".join(f"- {d.id}: {d.text}" for d in details)


# ---------------------------------------------------------------- answers: parse, check, cache


class AnswerError(ValueError):
    """The model's answer cannot be used; the message is shown to the model on the one retry."""


_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$", re.I)


def parse_answer(text: str, outcome: Outcome) -> OutcomeDraft:
    """JSON (code fences tolerated), validated, covering exactly the outcome's details."""
    text = _FENCE.sub("", text.strip())
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise AnswerError("the answer holds no JSON object")
    try:
        draft = OutcomeDraft.model_validate_json(text[start : end + 1])
    except ValidationError as exc:
        raise AnswerError(f"the JSON does not match the schema: {exc.errors(include_url=False)}") from exc
    wanted = [d.id for d in outcome.details]
    got = [d.detail_id for d in draft.details]
    if sorted(got) != sorted(wanted):
        raise AnswerError(f"answer exactly these details, each once: {', '.join(wanted)} (got: {', '.join(got) or 'none'})")
    return draft


class ResponseCache:
    """Validated answers by a hash of (model, prompt version, messages): re-screening costs no tokens."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, content TEXT NOT NULL)")
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, prompt: str, messages: list[BaseMessage]) -> str:
        payload = json.dumps([model, prompt, [(m.type, m.content) for m in messages]])
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT content FROM answers WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, content: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, content))


# ---------------------------------------------------------------- from the model's answer to findings


def locate(passage: Passage, quote: str, source: Source) -> Citation:
    """A citation at the exact place of the quote inside the passage (page, paragraph or cue span)."""
    chunk = passage.chunk
    place: dict[str, object] = {}
    if source.kind == "pdf":
        place = {"page": chunk.page}
    elif source.kind == "transcript":
        place = _cue_span(source, chunk, quote)
    else:
        paras = segments_in(source, chunk)
        hit = next((s for s in paras if normalise(quote) in normalise(s.text)), None)
        place = {"paragraph": (hit or paras[0]).paragraph if paras else chunk.paragraph_start}
    return Citation(artifact_id=source.id, quote=quote, **place)


def _cue_span(source: Source, chunk: Chunk, quote: str) -> dict[str, object]:
    cues = segments_in(source, chunk)
    wanted = normalise(quote)
    for i in range(len(cues)):
        for j in range(i, len(cues)):
            if wanted in normalise(" ".join(c.text for c in cues[i : j + 1])):
                return {"start": cues[i].start, "end": cues[j].end}
    return {"start": chunk.start, "end": chunk.end}


def to_findings(draft: OutcomeDraft, outcome: Outcome, passages: list[Passage], sources: dict[str, Source]) -> list[DetailFinding]:
    """Findings with citations at their places; citations to passages never shown are dropped and counted."""
    shown = {p.id: p for p in passages}
    findings = []
    for d in draft.details:
        cited = [c for c in d.citations if c.passage_id in shown and not is_instruction(c.quote)]
        citations = [locate(shown[c.passage_id], c.quote, sources[shown[c.passage_id].chunk.source_id]) for c in cited]
        findings.append(DetailFinding(
            detail_id=d.detail_id, outcome_id=outcome.id, status=d.status, confidence=d.confidence,
            rationale=d.rationale, citations=citations, citations_dropped=len(d.citations) - len(cited),
        ))
    return findings


# ---------------------------------------------------------------- the drafter


class _Budget:
    def __init__(self, tokens: int):
        self.left = tokens
        self.lock = threading.Lock()

    def take(self, estimate: int) -> bool:
        with self.lock:
            if estimate > self.left:
                return False
            self.left -= estimate
            return True

    def settle(self, estimate: int, actual: int) -> None:
        with self.lock:
            self.left += estimate - actual


class LLMDrafter:
    """Drafts with a chat model through LangChain; every answer checked, cached and costed."""

    trim_passages = True  # show the model the sentences that bear on the outcome, not whole chunks

    def __init__(self, model: BaseChatModel, settings: Settings, prompt: PromptTemplate | None = None,
                 cache: ResponseCache | None = None, model_name: str | None = None):
        self.model = model
        self.settings = settings
        self.prompt = prompt or load_prompt("draft_outcome")
        self.cache = cache or ResponseCache(settings.data_dir / "llm-cache.sqlite")
        self.model_name = model_name or settings.llm.model
        self.name = f"llm:{self.model_name}"
        self.fallback = ExtractiveDrafter()
        self._in_flight = threading.BoundedSemaphore(settings.llm.max_concurrency)  # across submissions too
        self.output_mode = settings.llm.structured_output  # "none" once the server rejects response_format

    def draft(self, rubric: Rubric, evidence: dict[str, list[Candidate]], sources: dict[str, Source]) -> Draft:
        usage, budget = LLMUsage(), _Budget(self.settings.llm.token_budget)
        with ThreadPoolExecutor(max_workers=self.settings.llm.max_concurrency) as pool:
            results = list(pool.map(lambda o: self._outcome(rubric, o, evidence, sources, usage, budget), rubric.outcomes))
        usage.cost_usd = round(
            usage.prompt_tokens * self.settings.llm.price_in_per_mtok / 1e6
            + usage.completion_tokens * self.settings.llm.price_out_per_mtok / 1e6, 6)
        findings = [f for found, _ in results for f in found]
        return Draft(findings=findings, usage=usage, notes=[n for _, n in results if n], prompt_version=self.prompt.label)

    def _outcome(self, rubric, outcome, evidence, sources, usage, budget) -> tuple[list[DetailFinding], str | None]:
        passages = passages_for(outcome, evidence, sources, self.settings.llm.max_passages, self.trim_passages)
        try:
            draft = self._ask(rubric, outcome, passages, usage, budget)
            return to_findings(draft, outcome, passages, sources), None
        except Exception as exc:  # noqa: BLE001 - any failure of the model hands the outcome to the fallback
            note = f"{outcome.id}: LLM drafting failed ({_why(exc)}); the extractive drafter stood in"
            found = self.fallback.draft_details(rubric, outcome.details, evidence, sources)
            return [f.model_copy(update={"rationale": f"{f.rationale} (extractive fallback)"}) for f in found], note

    def _ask(self, rubric, outcome, passages, usage, budget) -> OutcomeDraft:
        system, user = self.prompt.render(
            rubric_title=rubric.title, outcome_id=outcome.id, outcome_title=outcome.title,
            details=render_details(outcome.details), passages=render_passages(passages),
            schema=json.dumps(OutcomeDraft.model_json_schema()),
        )
        messages: list[BaseMessage] = [SystemMessage(system), HumanMessage(user)]
        key = ResponseCache.key(self.model_name, self.prompt.label, messages)
        if (cached := self.cache.get(key)) is not None:
            with budget.lock:  # outcomes are drafted in threads: += on the shared usage is not atomic
                usage.cached_calls += 1
            return parse_answer(cached, outcome)
        answer = self._call(messages, usage, budget)
        try:
            draft = parse_answer(answer, outcome)
        except AnswerError as exc:  # one bounded retry that shows the model its error
            messages += [AIMessage(answer), HumanMessage(f"That answer cannot be used: {exc}. Answer again with JSON only.")]
            answer = self._call(messages, usage, budget)
            draft = parse_answer(answer, outcome)
        self.cache.put(key, answer)
        return draft

    def _call(self, messages: list[BaseMessage], usage: LLMUsage, budget: _Budget) -> str:
        estimate = sum(len(str(m.content)) for m in messages) // 4 + 1500
        if not budget.take(estimate):
            raise BudgetExceeded(f"token budget of {self.settings.llm.token_budget} per submission reached")
        with self._in_flight:
            reply = self._invoke(messages)
        meta = reply.usage_metadata or {}
        prompt_tokens = meta.get("input_tokens", estimate - 1500)
        completion_tokens = meta.get("output_tokens", len(str(reply.content)) // 4)
        budget.settle(estimate, prompt_tokens + completion_tokens)
        with budget.lock:  # outcomes are drafted in threads: += on the shared usage is not atomic
            usage.calls += 1
            usage.prompt_tokens += prompt_tokens
            usage.completion_tokens += completion_tokens
        return str(reply.content)

    def _invoke(self, messages: list[BaseMessage]) -> AIMessage:
        """One call; a server that rejects response_format (400) is asked again for plain JSON, and remembered."""
        mode = self.output_mode
        try:
            return self._bound(mode).invoke(messages)
        except openai.BadRequestError:
            if mode == "none":
                raise
            reply = self._bound("none").invoke(messages)
            self.output_mode = "none"
            return reply

    def _bound(self, mode: str):
        if mode == "json_schema":
            schema = {"name": "outcome_draft", "schema": OutcomeDraft.model_json_schema()}
            return self.model.bind(response_format={"type": "json_schema", "json_schema": schema})
        if mode == "json_object":
            return self.model.bind(response_format={"type": "json_object"})
        return self.model


class BudgetExceeded(RuntimeError):
    pass


def _why(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


def make_chat_model(settings: Settings) -> BaseChatModel:
    """ChatOpenAI over the openai client, for OpenAI or any OpenAI-compatible server."""
    from langchain_openai import ChatOpenAI

    key = settings.llm.api_key or settings.openai_api_key
    if key is None and not settings.llm.base_url:
        raise ConfigurationError("the LLM drafter needs OPENAI_API_KEY, or PRESCREEN_LLM_BASE_URL for a local server")
    return ChatOpenAI(
        model=settings.llm.model, base_url=settings.llm.base_url, api_key=key or "not-needed",
        temperature=settings.llm.temperature, timeout=settings.llm.timeout, max_retries=settings.llm.max_retries,
    )


def make_drafter(settings: Settings, choice: str = "auto"):
    """`extractive`, `llm`, or `auto`: the LLM when one is configured, else the offline extractive drafter."""
    if choice == "extractive" or (choice == "auto" and not settings.llm_configured):
        return ExtractiveDrafter()
    return LLMDrafter(make_chat_model(settings), settings)
