"""The LLM drafter: any OpenAI-compatible model drafts findings, one call per essential outcome, and reads
the places the self-analysis points to (`read_places`), up to 30 a call.

Never trusted: the model may cite only passage ids it was shown, every quote goes through the shared
verifier, and text that addresses an AI or an assessor is taken out of the passages before the model
sees them. A failure for one outcome (timeout, its deadline, refusals, invalid answers, the token budget)
hands that outcome to the extractive drafter, and each finding says who drafted it.

Local servers differ, so the drafter finds out what a server supports from its answers and remembers it
per base URL and model: how to ask for JSON (a JSON schema, a JSON object with a schema, a JSON object, or
only the prompt's words), and whether its chat template keeps a system message. Every answer is bounded
(max_tokens sized from the outcome's schema), every outcome has a deadline past which its calls are
cancelled, and calls start one at a time until one succeeds.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import openai
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, UsageMetadata
from pydantic import BaseModel, Field, ValidationError

from prescreen.checks import Holds, PlaceQuestion, PlaceReading, is_instruction
from prescreen.chunking import segments_in
from prescreen.drafting import MAX_CITATIONS, Draft, ExtractiveDrafter
from prescreen.errors import ConfigurationError
from prescreen.evidence_model import EvidenceModel
from prescreen.models import Chunk, Detail, Outcome, Rubric, Source, Status
from prescreen.prompts import PromptTemplate, load_prompt
from prescreen.report import EXTRACTIVE, Citation, DetailFinding, FallbackReason, LLMUsage, OutcomeCall
from prescreen.retrieve import Candidate
from prescreen.settings import Settings
from prescreen.textutil import sentence_spans
from prescreen.verify import normalise

REDACTED = "[removed: text addressing an AI or an assessor]"
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


# maxLength bounds make a constrained answer fit max_tokens; keep them small: llama-cpp-python's server expands a
# bound into nested grammar rules, and past about a thousand its grammar fails to parse and the server crashes
QUOTE_MAX_CHARS = 300
RATIONALE_MAX_CHARS = 300
CONFIDENCES = [round(i / 10, 1) for i in range(11)]  # tenths: a grammar can constrain an enum, not a range
# the answer's size bound: every string at its maxLength, every array full, at a conservative 3 characters a token
DETAIL_FRAME_CHARS, CITATION_FRAME_CHARS, ANSWER_FRAME_TOKENS, CHARS_PER_TOKEN = 120, 40, 16, 3


def outcome_schema(details: list[Detail], passage_ids: list[str]) -> dict[str, Any]:
    """The answer's JSON Schema for one outcome: its details fixed, in order, and citations only to passages
    shown, so constrained decoding cannot name a detail or a passage that does not exist. What every detail
    shares is defined once (`$defs`): the schema is shown in the prompt too."""
    items = [{**_DETAIL, "properties": {"detail_id": {"type": "string", "enum": [d.id]}, **_DETAIL_FIELDS}}
             for d in details]
    return {
        "type": "object", "additionalProperties": False, "required": ["details"],
        "properties": {
            "details": {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        },
        "$defs": _shared_defs(passage_ids),
    }


_DETAIL = {"type": "object", "additionalProperties": False,
           "required": ["detail_id", "status", "confidence", "citations", "rationale"]}
_DETAIL_FIELDS = {name: {"$ref": f"#/$defs/{name}"} for name in ("status", "confidence", "citations", "rationale")}


def _shared_defs(passage_ids: list[str]) -> dict[str, Any]:
    citation = {
        "type": "object", "additionalProperties": False, "required": ["passage_id", "quote"],
        "properties": {"passage_id": {"type": "string", "enum": passage_ids},
                       "quote": {"type": "string", "maxLength": QUOTE_MAX_CHARS}},
    }
    return {
        "status": {"type": "string", "enum": list(get_args(Status))},
        "confidence": {"type": "number", "enum": CONFIDENCES},
        "citations": {"type": "array", "items": citation, "maxItems": MAX_CITATIONS} if passage_ids
        else {"type": "array", "maxItems": 0},
        "rationale": {"type": "string", "maxLength": RATIONALE_MAX_CHARS},
    }


def schema_text(schema: dict[str, Any]) -> str:
    """The schema as the prompt shows it: compact JSON."""
    return json.dumps(schema, separators=(",", ":"))


def answer_max_tokens(n_details: int) -> int:
    """max_tokens for an outcome with n details: the most its schema lets an answer hold."""
    per_detail = DETAIL_FRAME_CHARS + RATIONALE_MAX_CHARS + MAX_CITATIONS * (CITATION_FRAME_CHARS + QUOTE_MAX_CHARS)
    return ANSWER_FRAME_TOKENS + math.ceil(n_details * per_detail / CHARS_PER_TOKEN)


# ---------------------------------------------------------------- passages shown to the model


class Passage(BaseModel):
    id: str
    chunk: Chunk
    label: str


def passages_for(outcome: Outcome, rankings: dict[str, list[Chunk]], sources: dict[str, Source], limit: int
                 ) -> list[Passage]:
    """The outcome's candidate chunks, whole: each detail's next best in turn (`rankings`, best first), up to
    `limit`, de-duplicated, in reading order."""
    chunks = _round_robin([rankings.get(d.id, []) for d in outcome.details], limit)
    chunks.sort(key=lambda c: (c.source_id, c.page or 0, c.start or 0, c.char_start))
    return [Passage(id=f"P{i + 1}", chunk=c, label=_label(c, sources)) for i, c in enumerate(chunks)]


def _round_robin(rankings: list[list[Chunk]], limit: int) -> list[Chunk]:
    picked: dict[str, Chunk] = {}
    for rank in range(max(map(len, rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and len(picked) < limit:
                picked.setdefault(ranking[rank].id, ranking[rank])
    return list(picked.values())


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
    return "\n".join(
        f'<passage id="{p.id}" source="{p.label}">\n{passage_text(p.chunk.text)}\n</passage>'
        for p in passages
    )


def render_details(details: list[Detail]) -> str:
    return "\n".join(f"- {d.id}: {d.text}" for d in details)


# ---------------------------------------------------------------- answers: parse, check, cache


class AnswerError(ValueError):
    """The model's answer cannot be used; the message is shown to the model on the one retry."""


def without_fences(text: str) -> str:
    """The text inside a Markdown code fence (```json ... ```), or the text itself (no regex: linear time)."""
    text = text.strip()
    if text.startswith("```"):
        text = text[3:]
        text = text[4:] if text[:4].lower() == "json" else text
    return text.removesuffix("```").strip()


def parse_answer(text: str, outcome: Outcome) -> OutcomeDraft:
    """The answer, validated, covering exactly the outcome's details."""
    draft = _validated(OutcomeDraft, text)
    wanted = [d.id for d in outcome.details]
    got = [d.detail_id for d in draft.details]
    if sorted(got) != sorted(wanted):
        raise AnswerError(
            f"answer exactly these details, each once: {', '.join(wanted)} (got: {', '.join(got) or 'none'})"
        )
    return draft


# ---------------------------------------------------------------- the places a self-analysis points to

PLACES_PER_CALL = 30  # one call reads up to this many pointed places ...
PLACES_CHARS_PER_CALL = 12_000  # ... in about 3,000 tokens of items, for a local server's small context
PLACE_MAX_CHARS = 1200  # of a place's text shown: a place is a page, a slide, a paragraph or a few cues
PLACE_ANSWER_TOKENS = 24  # {"item": 12, "holds": "evidence"}, with room for a small model's spaces and line breaks


class PlaceAnswer(BaseModel):
    item: int
    holds: Holds


class PlacesAnswer(BaseModel):
    places: list[PlaceAnswer]


def places_schema(n: int) -> dict[str, Any]:
    """The answer's JSON Schema for n places: n answers, each naming an item 1..n (that each is named once is
    checked when the answer is parsed: a schema spelling out every item would cost more tokens than the items)."""
    answer = {"type": "object", "additionalProperties": False, "required": ["item", "holds"],
              "properties": {"item": {"type": "integer", "minimum": 1, "maximum": n},
                             "holds": {"type": "string", "enum": list(get_args(Holds))}}}
    return {
        "type": "object", "additionalProperties": False, "required": ["places"],
        "properties": {"places": {"type": "array", "items": answer, "minItems": n, "maxItems": n}},
    }


def render_places(questions: list[PlaceQuestion]) -> str:
    return "\n\n".join(_place_item(i, q) for i, q in enumerate(questions, 1))


def _place_item(number: int, q: PlaceQuestion) -> str:
    lines = [f"[{number}] DETAIL {q.detail.id}: {q.detail.text}"]
    if q.detail.look_fors:
        lines.append(f"    Look-fors: {'; '.join(q.detail.look_fors)}")
    lines.append(f"    PLACE: {q.artifact_id} at {q.locator}")
    text, shown = [], 0
    for sentence in q.sentences:
        if shown + len(sentence) > PLACE_MAX_CHARS:
            text.append("…")
            break
        text.append(sentence)
        shown += len(sentence)
    lines += [f"    {passage_text(t)}" for t in text] or ["    (no text)"]
    return "\n".join(lines)


def place_batches(questions: list[PlaceQuestion]) -> list[tuple[int, int]]:
    """(first, end) of each call's questions: up to PLACES_PER_CALL, and PLACES_CHARS_PER_CALL of items."""
    batches: list[tuple[int, int]] = []
    first, chars = 0, 0
    for i, q in enumerate(questions):
        size = len(_place_item(i + 1, q))
        if i > first and (i - first == PLACES_PER_CALL or chars + size > PLACES_CHARS_PER_CALL):
            batches.append((first, i))
            first, chars = i, 0
        chars += size
    return [*batches, (first, len(questions))] if questions else []


def parse_places(text: str, n: int) -> dict[int, Holds]:
    """Item number (1-based) -> what the place holds, for exactly items 1..n."""
    answer = _validated(PlacesAnswer, text)
    got = sorted(a.item for a in answer.places)
    if got != list(range(1, n + 1)):
        raise AnswerError(f"answer items 1 to {n}, each once (got: {', '.join(map(str, got)) or 'none'})")
    return {a.item: a.holds for a in answer.places}


_M = TypeVar("_M", bound=BaseModel)


def _validated(model: type[_M], text: str) -> _M:
    """The answer's JSON object as `model`: code fences tolerated, and raw line breaks inside strings, which
    some servers' grammars let through."""
    text = without_fences(text)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise AnswerError("the answer holds no JSON object")
    try:
        return model.model_validate(json.loads(text[start : end + 1], strict=False))
    except ValueError as exc:  # json.JSONDecodeError and pydantic's ValidationError are both ValueErrors
        detail = exc.errors(include_url=False) if isinstance(exc, ValidationError) else str(exc)
        raise AnswerError(f"the JSON does not match the schema: {detail}") from exc


class ResponseCache:
    """Validated answers by a hash of (model, prompt version, messages): re-screening costs no tokens. Also
    what each server was found to support, so the next run does not ask it again."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, content TEXT NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS servers (key TEXT PRIMARY KEY, profile TEXT NOT NULL)")
        self._lock = threading.Lock()

    @staticmethod
    def key(model: str, prompt: str, messages: list[BaseMessage]) -> str:
        payload = json.dumps([model, prompt, [(m.type, m.content) for m in messages]])
        return hashlib.sha256(payload.encode()).hexdigest()

    def get(self, key: str) -> str | None:
        return self._read("answers", key)

    def put(self, key: str, content: str) -> None:
        self._write("answers", key, content)

    def server(self, key: str) -> ServerProfile | None:
        text = self._read("servers", key)
        try:
            return ServerProfile.model_validate_json(text) if text else None
        except ValidationError:
            return None  # an older format: found out again

    def remember_server(self, key: str, profile: ServerProfile) -> None:
        self._write("servers", key, profile.model_dump_json())

    def _read(self, table: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMN[table]} FROM {table} WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _write(self, table: str, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)", (key, value))


_COLUMN = {"answers": "content", "servers": "profile"}


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


def to_findings(draft: OutcomeDraft, outcome: Outcome, passages: list[Passage], sources: dict[str, Source],
                drafted_by: str = "llm") -> list[DetailFinding]:
    """Findings with citations at their places; citations to passages never shown are dropped and counted."""
    shown = {p.id: p for p in passages}
    findings = []
    for d in draft.details:
        cited = [c for c in d.citations if c.passage_id in shown and not is_instruction(c.quote)]
        citations = [locate(shown[c.passage_id], c.quote, sources[shown[c.passage_id].chunk.source_id]) for c in cited]
        findings.append(DetailFinding(
            detail_id=d.detail_id, outcome_id=outcome.id, status=d.status, confidence=d.confidence,
            rationale=d.rationale, citations=citations, citations_dropped=len(d.citations) - len(cited),
            drafted_by=drafted_by,
        ))
    return findings


# ---------------------------------------------------------------- what a server supports

OutputMode = Literal["json_schema", "json_object_schema", "json_object", "none"]
OUTPUT_MODES: tuple[OutputMode, ...] = get_args(OutputMode)  # best first: each refusal moves one step down
REFUSED_STATUSES = {400, 422, 500}  # what servers answer to a response_format they do not support
NO_SYSTEM_ROLE_MODELS = re.compile(r"gemma", re.I)  # families whose chat templates have no system role
SYSTEM_REFUSED = re.compile(r"system|roles? must alternate", re.I)


class ServerProfile(BaseModel):
    """What a server was found to support, remembered per base URL and model."""

    output_mode: OutputMode
    system_role: bool


def response_format(mode: OutputMode, schema: dict[str, Any]) -> dict[str, Any] | None:
    """How `mode` asks for JSON: OpenAI's json_schema (OpenAI, vLLM, Ollama, llama-server), a json_object with a
    schema (llama-cpp-python's server), a bare json_object, or nothing (the prompt asks for JSON)."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "outcome_draft", "schema": schema}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def refused(exc: BaseException) -> bool:
    return isinstance(exc, openai.APIStatusError) and exc.status_code in REFUSED_STATUSES


class SystemRoleRefused(RuntimeError):
    """The server refused a system message (its chat template has no system role)."""


class DeadlinePassed(TimeoutError):
    pass


class BudgetExceeded(RuntimeError):
    pass


def fallback_reason(exc: BaseException) -> FallbackReason:
    """The report's word for why an outcome fell back."""
    kinds: list[tuple[type[BaseException] | tuple[type[BaseException], ...], FallbackReason]] = [
        (DeadlinePassed, "deadline"), ((openai.APITimeoutError, TimeoutError), "timeout"),
        ((AnswerError, ValidationError), "invalid_answer"), (BudgetExceeded, "token_budget"),
        (openai.RateLimitError, "rate_limited"), (openai.APIConnectionError, "connection"),
        (openai.InternalServerError, "server_error"), (openai.APIStatusError, "refused"),
    ]
    return next((reason for kind, reason in kinds if isinstance(exc, kind)), "error")


# ---------------------------------------------------------------- calls in flight, on one event loop


class Limiter:
    """Calls in flight across outcomes and submissions: one until a call succeeds, then up to `maximum`; a
    timeout brings it back to one (a one-slot server queues the others until they time out too)."""

    def __init__(self, maximum: int):
        self.maximum = maximum
        self.limit = 1
        self.in_flight = 0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        while self.in_flight >= self.limit:  # one event loop: no await between this test and the increment
            await asyncio.sleep(0.02)
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    def succeeded(self) -> None:
        self.limit = self.maximum

    def timed_out(self) -> None:
        self.limit = 1


_T = TypeVar("_T")


class _LoopThread:
    """One event loop for all LLM calls of the process, in a daemon thread. The async HTTP client that
    LangChain's ChatOpenAI keeps per process must stay on one loop, and asyncio cancellation is what really
    closes an abandoned call's connection."""

    _loop: asyncio.AbstractEventLoop | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, coro: Coroutine[Any, Any, _T]) -> _T:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="prescreen-llm", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls._loop).result()


# ---------------------------------------------------------------- the drafter


class _Budget:
    """Prompt + completion tokens one submission may still spend (all calls run on one event loop)."""

    def __init__(self, tokens: int):
        self.left = tokens

    def take(self, estimate: int) -> bool:
        if estimate > self.left:
            return False
        self.left -= estimate
        return True

    def settle(self, estimate: int, actual: int) -> None:
        self.left += estimate - actual


@dataclass
class _Call:
    """One request to the model: its messages (given whether the rules go in a system message), how its
    answer is read, and what it has spent."""

    prompt: PromptTemplate
    messages: Callable[[bool], list[BaseMessage]]
    parse: Callable[[str], Any]
    schema: dict[str, Any]
    record: OutcomeCall
    usage: LLMUsage
    budget: _Budget

    def count(self, prompt_tokens: int, completion_tokens: int) -> None:
        for tally in (self.usage, self.record):
            tally.calls += 1
            tally.prompt_tokens += prompt_tokens
            tally.completion_tokens += completion_tokens


@dataclass
class _OutcomeRun:
    """One outcome's drafting: the passages it shows and its call."""

    outcome: Outcome
    passages: list[Passage]
    call: _Call


class LLMDrafter:
    """Drafts with a chat model through LangChain; every answer checked, cached and costed."""

    def __init__(self, model: BaseChatModel, settings: Settings, prompt: PromptTemplate | None = None,
                 cache: ResponseCache | None = None, model_name: str | None = None,
                 fallback: ExtractiveDrafter | None = None):
        self.model = model
        self.settings = settings
        self.prompt = prompt or load_prompt("draft_outcome")
        self.places_prompt = load_prompt("read_places")
        self.cache = cache or ResponseCache(settings.data_dir / "llm-cache.sqlite")
        self.model_name = model_name or settings.llm.model
        self.name = f"llm:{self.model_name}"
        self._fallback = fallback
        self.limiter = Limiter(settings.llm.concurrency)  # across submissions too
        self.server_key = f"{settings.llm.base_url or 'openai'}|{self.model_name}"
        self.output_mode, self.system_role = self._known_profile()

    @property
    def fallback(self) -> ExtractiveDrafter:
        """The extractive drafter, loaded when an outcome first needs it."""
        if self._fallback is None:
            self._fallback = ExtractiveDrafter(EvidenceModel.for_settings(self.settings))
        return self._fallback

    def draft(self, rubric: Rubric, evidence: dict[str, list[Candidate]], sources: dict[str, Source]) -> Draft:
        usage, budget = LLMUsage(), _Budget(self.settings.llm.token_budget)
        runs = [self._run_for(rubric, o, evidence, sources, usage, budget) for o in rubric.outcomes]
        answers = _LoopThread.run(self._ask_all([run.call for run in runs]))
        findings, notes = [], []
        for run, answer in zip(runs, answers, strict=True):
            if isinstance(answer, OutcomeDraft):
                findings += to_findings(answer, run.outcome, run.passages, sources, drafted_by=self.name)
            else:
                findings += self._fall_back(rubric, run.outcome, evidence, sources, fallback_reason(answer))
                notes.append(f"{run.outcome.id}: LLM drafting failed ({_why(answer)}); the extractive drafter stood in")
        usage.cost_usd = self.settings.llm.cost(usage.prompt_tokens, usage.completion_tokens)
        usage.structured_output, usage.system_role = self.output_mode, self.system_role
        return Draft(findings=findings, usage=usage, notes=notes, prompt_version=self.prompt.label)

    def _run_for(self, rubric: Rubric, outcome: Outcome, evidence, sources, usage: LLMUsage, budget: _Budget
                 ) -> _OutcomeRun:
        # the passages a reader should see: ranked by the learned sentence model, the earner's pointer first
        rankings = {d.id: self.fallback.ranked_chunks(d, evidence.get(d.id, []), sources) for d in outcome.details}
        passages = passages_for(outcome, rankings, sources, self.settings.llm.max_passages)
        record = OutcomeCall(outcome_id=outcome.id, drafted_by=self.name, deadline_s=self.settings.llm.outcome_deadline,
                             max_tokens=answer_max_tokens(len(outcome.details)))
        usage.outcomes.append(record)
        schema = outcome_schema(outcome.details, [p.id for p in passages])
        variables = dict(rubric_title=rubric.title, outcome_id=outcome.id, outcome_title=outcome.title,
                         details=render_details(outcome.details), passages=render_passages(passages),
                         schema=schema_text(schema))
        call = _Call(prompt=self.prompt, messages=lambda system_role: _messages(self.prompt, system_role, variables),
                     parse=lambda text: parse_answer(text, outcome), schema=schema, record=record, usage=usage,
                     budget=budget)
        return _OutcomeRun(outcome=outcome, passages=passages, call=call)

    @property
    def reads_places(self) -> bool:
        return self.settings.llm.read_places

    def read_places(self, questions: list[PlaceQuestion], spent: int = 0) -> PlaceReading:
        """What the model reads at each pointed place, PLACES_PER_CALL places a call, within what the submission's
        token budget has left (drafting `spent` the rest); a failed call's places are left to the sentence model,
        and a note says so."""
        usage, budget = LLMUsage(), _Budget(self.settings.llm.token_budget - spent)
        batches = place_batches(questions)
        calls = [self._places_call(questions[first:end], usage, budget) for first, end in batches]
        answers = _LoopThread.run(self._ask_all(calls))
        reading = PlaceReading(read_by=self.name, calls=[c.record for c in calls])
        for (first, end), answer in zip(batches, answers, strict=True):
            if isinstance(answer, Exception):
                reading.notes.append(f"places {first + 1}-{end}: the model could not read them "
                                     f"({_why(answer)}); the sentence model judged them")
                continue
            reading.holds.update({first + item - 1: holds for item, holds in answer.items()})
        return reading

    def _places_call(self, batch: list[PlaceQuestion], usage: LLMUsage, budget: _Budget) -> _Call:
        schema = places_schema(len(batch))
        record = OutcomeCall(outcome_id="places", drafted_by=self.name, deadline_s=self.settings.llm.outcome_deadline,
                             max_tokens=ANSWER_FRAME_TOKENS + len(batch) * PLACE_ANSWER_TOKENS)
        variables = dict(items=render_places(batch), schema=schema_text(schema))
        return _Call(prompt=self.places_prompt,
                     messages=lambda system_role: _messages(self.places_prompt, system_role, variables),
                     parse=lambda text: parse_places(text, len(batch)), schema=schema, record=record, usage=usage,
                     budget=budget)

    def _fall_back(
        self, rubric: Rubric, outcome: Outcome, evidence, sources, reason: FallbackReason
    ) -> list[DetailFinding]:
        found = self.fallback.draft_details(rubric, outcome.details, evidence, sources)
        return [f.model_copy(update={"rationale": f"{f.rationale} (extractive fallback)", "outcome_id": outcome.id,
                                     "drafted_by": EXTRACTIVE, "fallback_reason": reason}) for f in found]

    # -- on the event loop

    async def _ask_all(self, calls: list[_Call]) -> list[Any]:
        return await asyncio.gather(*(self._answer(call) for call in calls))

    async def _answer(self, call: _Call) -> Any:
        """The call's parsed answer, or why there is none; it never outlasts its deadline."""
        try:
            async with self.limiter.slot():
                started = time.monotonic()
                try:
                    return await _within(call.record.deadline_s, self._ask(call))
                finally:
                    call.record.elapsed_s = round(time.monotonic() - started, 3)
        except Exception as exc:  # noqa: BLE001 - any failure of the model hands the work to the fallback
            call.record.drafted_by, call.record.fallback_reason = EXTRACTIVE, fallback_reason(exc)
            if call.record.fallback_reason in ("timeout", "deadline"):
                self.limiter.timed_out()
            return exc

    async def _ask(self, call: _Call) -> Any:
        try:
            return await self._ask_with(call.messages(self.system_role), call)
        except SystemRoleRefused:  # the rules go in the first user turn from now on
            self._learned(system_role=False)
            return await self._ask_with(call.messages(self.system_role), call)

    async def _ask_with(self, messages: list[BaseMessage], call: _Call) -> Any:
        key = ResponseCache.key(self.model_name, call.prompt.label, messages)
        if (cached := self.cache.get(key)) is not None:
            call.usage.cached_calls += 1
            call.record.cached = True
            return call.parse(cached)
        answer = await self._call(messages, call)
        try:
            parsed = call.parse(answer)
        except AnswerError as exc:  # one bounded retry that shows the model its error
            messages = [*messages, AIMessage(answer),
                        HumanMessage(f"That answer cannot be used: {exc}. Answer again with JSON only.")]
            answer = await self._call(messages, call)
            parsed = call.parse(answer)
        self.cache.put(key, answer)
        return parsed

    async def _call(self, messages: list[BaseMessage], call: _Call) -> str:
        max_tokens = call.record.max_tokens
        estimate = sum(len(str(m.content)) for m in messages) // 4 + max_tokens
        if not call.budget.take(estimate):
            raise BudgetExceeded(f"token budget of {self.settings.llm.token_budget} per submission reached")
        reply = await self._invoke(messages, call.schema, max_tokens)
        self.limiter.succeeded()
        meta: UsageMetadata | dict[str, int] = reply.usage_metadata or {}
        prompt_tokens = meta.get("input_tokens", estimate - max_tokens)
        completion_tokens = meta.get("output_tokens", len(str(reply.content)) // 4)
        call.budget.settle(estimate, prompt_tokens + completion_tokens)
        call.count(prompt_tokens, completion_tokens)
        return str(reply.content)

    async def _invoke(self, messages: list[BaseMessage], schema: dict[str, Any], max_tokens: int) -> AIMessage:
        """One call, asking for JSON the best way the server takes: a refusal (400, 422 or 500) of a way moves
        one way down, and the way that worked is remembered. An answer cut off at max_tokens is returned as it
        is: it fails validation, and the retry shows the model why."""
        mode = self.output_mode
        while True:
            try:
                reply = await self._bound(mode, schema, max_tokens).ainvoke(messages)
            except openai.LengthFinishReasonError as exc:
                return _cut_off(exc)
            except openai.APIStatusError as exc:
                if refused(exc) and self.system_role and SYSTEM_REFUSED.search(exc.message):
                    raise SystemRoleRefused(exc.message) from exc
                if not refused(exc) or mode == "none":
                    raise
                mode = OUTPUT_MODES[OUTPUT_MODES.index(mode) + 1]
                continue
            self._learned(output_mode=mode)
            return reply

    def _bound(self, mode: OutputMode, schema: dict[str, Any], max_tokens: int):
        options: dict[str, Any] = {"max_tokens": max_tokens}  # LangChain sends it as max_completion_tokens
        if self.settings.llm.base_url:  # local servers know the older name; OpenAI refuses both at once
            options["extra_body"] = {"max_tokens": max_tokens}
        if (fmt := response_format(mode, schema)) is not None:
            options["response_format"] = fmt
        return self.model.bind(**options)

    # -- what the server supports

    def _known_profile(self) -> tuple[OutputMode, bool]:
        """The first way to ask for JSON, and whether to send a system message: from settings, then from what
        was found out before about this server and model."""
        llm, known = self.settings.llm, self.cache.server(self.server_key)
        first = OUTPUT_MODES.index(llm.structured_output)
        mode = OUTPUT_MODES[max(first, OUTPUT_MODES.index(known.output_mode)) if known else first]
        if llm.system_role != "auto":
            return mode, llm.system_role == "yes"
        return mode, known.system_role if known else not NO_SYSTEM_ROLE_MODELS.search(self.model_name)

    def _learned(self, output_mode: OutputMode | None = None, system_role: bool | None = None) -> None:
        profile = ServerProfile(output_mode=output_mode or self.output_mode,
                                system_role=self.system_role if system_role is None else system_role)
        if (profile.output_mode, profile.system_role) != (self.output_mode, self.system_role):
            self.output_mode, self.system_role = profile.output_mode, profile.system_role
            self.cache.remember_server(self.server_key, profile)


def _messages(prompt: PromptTemplate, system_role: bool, variables: dict[str, str]) -> list[BaseMessage]:
    return [SystemMessage(text) if role == "system" else HumanMessage(text)
            for role, text in prompt.turns(system_role, **variables)]


async def _within(seconds: float, work: Coroutine[Any, Any, _T]) -> _T:
    """`work`, cancelled (its connection closed) when `seconds` pass. Whatever the cancelled call raises on its
    way out (a client that turns the cancellation into an error of its own), a passed deadline is said as
    DeadlinePassed."""
    scope = asyncio.timeout(seconds)
    try:
        async with scope:
            return await work
    except Exception as exc:
        if scope.expired():
            raise DeadlinePassed(f"the outcome's deadline of {seconds:g} s passed; its calls were cancelled") from exc
        raise


def _cut_off(exc: openai.LengthFinishReasonError) -> AIMessage:
    """The answer the server cut off at max_tokens, with its usage."""
    completion = exc.completion
    text = (completion.choices[0].message.content or "") if completion.choices else ""
    usage = completion.usage
    meta = {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens} if usage else None
    return AIMessage(text, usage_metadata=meta)


def _why(exc: BaseException) -> str:
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
        return ExtractiveDrafter(EvidenceModel.for_settings(settings))
    return LLMDrafter(make_chat_model(settings), settings)
