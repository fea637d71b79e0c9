"""LLM tokens per submission: this design (one call per essential outcome, its details' candidate passages
de-duplicated) against the naive design (one call per detail, with only that detail's own candidate passages),
and a re-screen of the unchanged bundle (answers from the response cache).

    python benchmarks/llm_tokens.py [--pages 40]

Both designs go through the real client (ChatOpenAI from make_chat_model) to a loopback chat-completions server
(tests/chatserver.py) that answers valid minimal JSON (every detail `missing`, no citations). Tokens are counted
the same way for both, by that server: ceil(chars / 4) of all message contents of a request for the prompt, and
of the answer's content for the completion (the JSON schema sent as response_format is not counted; the
same schema inside the prompt is). The naive
design renders the same prompt template for one detail, with passages_for() on a one-detail outcome. Reading
the places the self-analysis points to (one more call per 30 places) is the same for both designs and is
left out.
Retrieval is real: the packaged embedding model (LocalEmbeddings), Chroma on disk in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]
from generate import make_bundle  # noqa: E402

from prescreen.drafting import Draft  # noqa: E402
from prescreen.embeddings import LocalEmbeddings  # noqa: E402
from prescreen.llm import LLMDrafter, ResponseCache, make_chat_model  # noqa: E402
from prescreen.models import Outcome  # noqa: E402
from prescreen.pipeline import Screener  # noqa: E402
from prescreen.settings import Settings  # noqa: E402
from tests.chatserver import ChatServer, estimate_tokens, user_message  # noqa: E402
from tests.fakes import answer, details_in  # noqa: E402

BAR_RATIO = 1 / 3


class PerDetailDrafter(LLMDrafter):
    """The naive design: one call per detail, the same prompt with that detail and its own passages."""

    def draft(self, rubric, evidence, sources) -> Draft:
        one_each = [Outcome(id=o.id, title=o.title, details=[d]) for o in rubric.outcomes for d in o.details]
        return super().draft(rubric.model_copy(update={"outcomes": one_each}), evidence, sources)


class Tally:
    """What the server saw between two moments: calls, prompt and completion tokens."""

    def __init__(self, server: ChatServer):
        self.server = server
        self.start = self._now()

    def _now(self) -> tuple[int, int, int]:
        with self.server.lock:
            return len(self.server.requests), self.server.prompt_tokens, self.server.completion_tokens

    def take(self) -> tuple[int, int, int]:
        now = self._now()
        delta = tuple(b - a for a, b in zip(self.start, now, strict=True))
        self.bodies = self.server.requests[self.start[0] : now[0]]
        self.start = now
        return delta  # type: ignore[return-value]

    def shape(self) -> tuple[int, int, int, int]:
        """(passages shown in all, tokens of the part every call repeats: system prompt with schema, header;
        tokens of the per-outcome JSON schema in the prompt, per call; max_tokens per call), means over calls."""
        passages = sum(user_message(b).count("<passage id=") for b in self.bodies)
        fixed = [
            estimate_tokens(b["messages"][0]["content"] + user_message(b).split("PASSAGES")[0]) for b in self.bodies
        ]
        schema = [estimate_tokens(json.dumps(b["response_format"]["json_schema"]["schema"])) for b in self.bodies]
        caps = [b["max_tokens"] for b in self.bodies]
        return passages, _mean(fixed), _mean(schema), _mean(caps)


def _mean(values: list[int]) -> int:
    return round(sum(values) / len(values)) if values else 0


def minimal(body: dict, call_index: int) -> tuple[int, str, float]:
    return 200, answer(details_in(user_message(body)), "missing"), 0.0


def measure(name: str, bundle: Path, data_dir: Path, server: ChatServer, embedder: LocalEmbeddings,
            max_passages: int | None = None) -> dict:
    settings = Settings(data_dir=data_dir, llm={
        "base_url": server.url, "api_key": "bench", "model": "scripted", "token_budget": 10_000_000,
        "read_places": False,  # reading the pointed places is one more call either way: drafting is compared
    })
    model = make_chat_model(settings)
    if max_passages:  # the design's passages per call; the naive design keeps every candidate of its detail
        design_llm = settings.llm.model_copy(update={"max_passages": max_passages})
        design_settings = settings.model_copy(update={"llm": design_llm})
    else:
        design_settings = settings
    screener = Screener(settings, embedder=embedder, drafter=LLMDrafter(model, design_settings))
    tally = Tally(server)

    design = screener.screen(bundle)
    d_calls, d_prompt, d_completion = tally.take()
    d_shape = tally.shape()

    screener.drafter = PerDetailDrafter(model, settings, cache=ResponseCache(data_dir / "naive-cache.sqlite"))
    naive = screener.screen(bundle)
    n_calls, n_prompt, n_completion = tally.take()
    n_shape = tally.shape()

    screener.drafter = LLMDrafter(make_chat_model(settings), design_settings)  # a fresh drafter: only the cache on disk
    again = screener.screen(bundle)
    r_calls, r_prompt, r_completion = tally.take()

    for label, result in (("design", design), ("naive", naive), ("re-screen", again)):
        if result.report.drafter_notes:
            raise SystemExit(f"{name} {label}: fell back, tokens incomplete: {result.report.drafter_notes}")
    usage = design.report.llm_usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (d_prompt, d_completion)
    return {
        "name": name, "details": len(design.report.details), "outcomes": len(design.rubric.outcomes),
        "chunks": len(design.chunks),
        "design": (d_prompt, d_completion, d_calls), "naive": (n_prompt, n_completion, n_calls),
        "again": (r_prompt, r_completion, r_calls, again.report.llm_usage.cached_calls),
        "shape": (d_shape[0], n_shape[0], d_shape[1]), "schema": (d_shape[2], d_shape[3], n_shape[2], n_shape[3]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40, help="pages of the generated bundle")
    parser.add_argument("--max-passages", type=int, default=None,
                        help="passages shown per outcome call in the design (default: the setting, 16); "
                             "the naive design always shows each detail all of its own candidates")
    args = parser.parse_args()
    embedder = LocalEmbeddings()
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ChatServer(minimal) as server:
        tmp = Path(tmp)
        bundles = [
            ("lincoln-elementary", ROOT / "examples" / "lincoln-elementary"),
            ("harbor-middle", ROOT / "examples" / "harbor-middle"),
            (f"generated, {args.pages} pages", make_bundle(tmp / "generated", pages=args.pages)),
        ]
        for i, (name, bundle) in enumerate(bundles):
            rows.append(measure(name, bundle, tmp / f"data-{i}", server, embedder, args.max_passages))

    print("LLM tokens per submission: one call per essential outcome (design) vs one call per detail (naive)")
    print("Tokens as the loopback server counts them for both designs: ceil(chars/4) of all message contents")
    print("(prompt) and of the answer (completion); answers are valid minimal JSON. Real embedder and retrieval.")
    print(f"Passages per outcome call in the design: at most {args.max_passages or Settings().llm.max_passages}"
          f" (llm.max_passages), whole chunks; naive: all of the detail's own candidates, whole.")
    print()
    header = (f"{'bundle':<22} {'design prompt/compl/calls':>27} {'naive prompt/compl/calls':>26} {'ratio':>7}"
              f" {'bar':>6}  {'re-screen tokens (calls, cached)':>32}")
    print(header)
    print("-" * len(header))
    ok = True
    for r in rows:
        dp, dc, dn = r["design"]
        np_, nc, nn = r["naive"]
        rp, rc, rn, cached = r["again"]
        ratio = (dp + dc) / (np_ + nc)
        passed = ratio <= BAR_RATIO and rp + rc == 0 and rn == 0
        ok &= passed
        print(f"{r['name']:<22} {f'{dp:,} / {dc:,} / {dn}':>27} {f'{np_:,} / {nc:,} / {nn}':>26} {ratio:7.2f} "
              f"{'ok' if ratio <= BAR_RATIO else 'MISS':>6}  {f'{rp + rc} ({rn} calls, {cached} cached)':>32}")
    print()
    print("where the tokens go: passages shown in all calls, and the part every call repeats (system prompt with")
    print("the JSON schema, credential and outcome lines)")
    for r in rows:
        dpass, npass, fixed = r["shape"]
        print(f"  {r['name']:<22} passages: design {dpass} in {r['design'][2]} calls,"
              f" naive {npass} in {r['naive'][2]} calls; repeated per call: ~{fixed:,} tokens")
    print()
    print("the per-outcome JSON schema (detail ids fixed, passage ids an enum of those shown), mean per call:")
    print("its tokens inside the prompt, and max_tokens, the answer's cap sized from it (every string at its")
    print("maxLength, every array full)")
    for r in rows:
        d_schema, d_cap, n_schema, n_cap = r["schema"]
        print(f"  {r['name']:<22} design: schema ~{d_schema:,} tokens, max_tokens {d_cap:,};"
              f" naive: schema ~{n_schema:,} tokens, max_tokens {n_cap:,}")
    print()
    print(f"ratio = design tokens / naive tokens (prompt + completion); bar: <= {BAR_RATIO:.2f}."
          "  re-screen bar: 0 tokens.")
    print(f"{'all bars met' if ok else 'some bar missed'}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
