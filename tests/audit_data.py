"""A review database with a bit of everything for the audit's tests, filled through the real ReviewService."""

from __future__ import annotations

from tests.conftest import DETAILS

D, N = "demonstrated", "not_yet"


def work(kit, actor: str, sub: int, scores: dict | None = None, overrides: dict | None = None) -> None:
    """Decide (confirm, or override with (new status, reason)), score every detail, and submit."""
    scores = {d: D for d in DETAILS} | (scores or {})
    for detail in DETAILS:
        if detail in (overrides or {}):
            kit.service.decide(actor, sub, detail, "override", *overrides[detail])
        else:
            kit.service.decide(actor, sub, detail, "confirm")
        kit.service.score(actor, sub, detail, scores[detail], "feedback")
    kit.service.submit(actor, sub, "earned" if set(scores.values()) == {D} else "not_yet")


def fill_reviewed(kit):
    """A: agreed, earned. B: disputed on EO1.2, adjudicated not yet; two overrides with the same reason.
    B attempt 2: in review. C: incomplete, returned. Drafted: EO1.1 and EO2.1 evidenced, EO1.2 weak."""
    a = kit.in_review(code="A")
    work(kit, "ana", a)
    work(kit, "ben", a, overrides={"EO1.2": ("evidenced", "The data table on p. 2 shows it.")})
    b = kit.in_review(code="B")
    work(kit, "ana", b, overrides={"EO1.2": ("evidenced", "the data table on p. 2 shows it")})
    work(kit, "ben", b, scores={"EO1.2": N}, overrides={"EO2.1": ("weak", "Only <script>claimed</script>.")})
    kit.service.adjudicate("lead", b, "EO1.2", N, "Show the data.")
    again = kit.ingest(code="B", attempt=2)
    kit.service.assign("lead", again.id, ["ana", "cy"])
    c = kit.ingest(code="C", shortfall=True)
    kit.service.return_to_earner("lead", c.id, "The overview is too short.")
    return kit
