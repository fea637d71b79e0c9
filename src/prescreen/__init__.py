"""prescreen: pre-screens micro-credential submissions for human assessors.

The pipeline, top to bottom (each step is one module):

    bundle.py     bundle (folder or zip) + manifest        -> Bundle
    extract.py    files -> text with provenance            -> Source (segments)
    checks.py     word counts, self-analysis, injections   -> deterministic findings
    chunking.py   sources -> chunks that keep provenance   -> Chunk
    index.py      chunks -> embeddings in Chroma           -> EvidenceIndex
    retrieve.py   evidence per rubric detail (hybrid)      -> Candidate
    drafting.py   draft findings (extractive; LLM later)   -> DetailFinding
    verify.py     every quote checked against the source   -> verified findings
    report.py     JSON report (schema v1) and Markdown
    pipeline.py   screen(): the whole thing, in order
"""

__version__ = "0.1.0"
