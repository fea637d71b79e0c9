"""The earner's side: build a bundle, point to places in its files, self-check it, keep drafts.

No gradio in here: the CLI (cli_earner.py) and the earner's views are thin edges over these modules.

  places.py     the places a person can point to in a file, each with a locator the spec accepts
  assemble.py   a draft submission (pydantic) -> a bundle in format v1, or a .zip of one
  selfcheck.py  the pipeline's report in the earner's words: what was found, what to fix
  scaffold.py   `prescreen init`: a submission.yaml listing every rubric detail, with comments
  store.py      drafts and their uploads in the review database (migration 0003)
  standing.py   where a submitted draft stands in the program's review, in the earner's terms (read-only)
  service.py    EarnerService: what an earner does in the app, owner-checked, over the store and the review
  errors.py     EarnerError and its kinds
"""
