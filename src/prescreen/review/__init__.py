"""The review stage, after the report: two assessors score each submission blind, the lead settles
disagreements, every action goes to an append-only audit log.

db.py          engine, sessions, ORM models, Alembic migrations (migrations/)
accounts.py    users with roles (lead, assessor), argon2 password hashes, sign-in throttling
errors.py      ReviewError and its kinds: NotAllowed, InvalidTransition, NotFound, AuthError, InvalidInput
rules.py       states, the actions each allows, what decisions, scores and submits must satisfy (pure)
deidentify.py  masking of names, e-mails and phone numbers in what assessors read (Presidio)
blind.py       the earner's identity masked in everything an assessor reads; a screening run parsed once
views.py       the view models each role is shown, and their pure builders
queries.py     reads and writes inside a transaction
reading.py     views assembled from the database
service.py     ReviewService: one transaction per action, with permissions and the audit log
wiring.py      the composition root: the database from settings and the screening pipeline
workflow.py    the names the UI, the CLI and the tests import, re-exported

Domain code only: the UI (prescreen.ui) and the CLI are thin edges over ReviewService.
"""
