"""The earner's build form as plain functions: what the form's fields become in the draft, and back.

No gradio here and no service: the tab (ui/earner.py) reads the fields, these functions make the changed draft,
and the service saves it. Parts are typed in a box or uploaded; artifacts get the next free id (A1, A2 ...);
a detail's pointers to one artifact are replaced by the places picked in it, its pointers to others are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from prescreen.earner.assemble import ArtifactDraft, Draft, PartDraft
from prescreen.models import Earner, EvidenceRef, RubricPart, SelfAnalysisEntry
from prescreen.wordcount import count_words

MAX_PARTS = 3  # text parts a rubric may have that the form shows (the shipped rubrics have two)
_ARTIFACT_ID = re.compile(r"^A(\d+)$")


def word_line(text: str | None, part: RubricPart | None) -> str:
    """`312 of 1000 words: 688 to go.` for a text box, by the bundle spec's count."""
    words = count_words(text or "")
    if part is None or not part.minimum_words:
        return f"{words} words."
    if words >= part.minimum_words:
        return f"{words} of {part.minimum_words} words: enough."
    return f"{words} of {part.minimum_words} words: {part.minimum_words - words} to go."


def unique_name(name: str, taken: Sequence[str]) -> str:
    """The upload's file name, or `name-2.ext`, `name-3.ext` ... when the draft uses that name already."""
    path, n, candidate = Path(name), 1, Path(name).name
    while candidate in taken:
        n += 1
        candidate = f"{path.stem}-{n}{path.suffix}"
    return candidate


def with_identity(draft: Draft, name: str, email: str, organization: str) -> Draft:
    earner = Earner(name=name.strip() or None, email=email.strip() or None, organization=organization.strip() or None)
    return draft.model_copy(update={"earner": earner})


def with_part(draft: Draft, part_id: str, text: str | None, upload: str | None) -> Draft:
    """A new upload wins; then text typed in the box; an untouched part keeps its uploaded file."""
    old = draft.parts.get(part_id)
    if upload:
        part = PartDraft(upload=upload)
    elif (text or "").strip() or old is None or old.upload is None:
        part = PartDraft(text=text or "")
    else:
        part = old
    return draft.model_copy(update={"parts": {**draft.parts, part_id: part}})


def with_artifact(draft: Draft, title: str, upload: str) -> tuple[Draft, str]:
    """The draft with a new artifact (the next free id) and that id."""
    numbers = [int(m.group(1)) for a in draft.artifacts if (m := _ARTIFACT_ID.match(a.id))]
    artifact_id = f"A{max(numbers, default=0) + 1}"
    artifact = ArtifactDraft(id=artifact_id, title=title.strip() or Path(upload).stem, upload=upload)
    return draft.model_copy(update={"artifacts": [*draft.artifacts, artifact]}), artifact_id


def without_artifact(draft: Draft, artifact_id: str) -> Draft:
    """The draft without the artifact, nor any pointer to it."""
    entries = [e.model_copy(update={"evidence": [r for r in e.evidence if r.artifact != artifact_id]})
               for e in draft.self_analysis]
    return draft.model_copy(update={"artifacts": [a for a in draft.artifacts if a.id != artifact_id],
                                    "self_analysis": entries})


def entry_of(draft: Draft, detail_id: str) -> SelfAnalysisEntry:
    return next((e for e in draft.self_analysis if e.detail == detail_id), SelfAnalysisEntry(detail=detail_id))


def pointer_to(entry: SelfAnalysisEntry, artifact_id: str | None) -> str:
    """What the entry points to in one artifact (its locators, joined)."""
    return ", ".join(r.locator for r in entry.evidence if r.artifact == artifact_id and r.locator)


def picked(pointer: str, locators: Sequence[str]) -> list[str]:
    """The places of the file a written pointer names exactly (to tick them in the picker)."""
    named = {part.strip() for part in pointer.split(",")}
    return [locator for locator in locators if locator in named]


def with_entry(draft: Draft, detail_id: str, artifact_id: str | None, pointer: str, explanation: str) -> Draft:
    """The detail's entry with its pointers to `artifact_id` replaced by `pointer` (none when it is empty), its
    pointers to other artifacts kept, and the explanation; entries keep the rubric's order."""
    old = entry_of(draft, detail_id)
    evidence = [r for r in old.evidence if r.artifact != artifact_id]
    if artifact_id and pointer.strip():
        evidence.append(EvidenceRef(artifact=artifact_id, locator=pointer.strip()))
    entry = SelfAnalysisEntry(detail=detail_id, evidence=evidence, explanation=explanation.strip())
    entries = [entry if e.detail == detail_id else e for e in draft.self_analysis]
    if not any(e.detail == detail_id for e in draft.self_analysis):
        entries.append(entry)
    return draft.model_copy(update={"self_analysis": entries})
