"""The review stage, after the report: two assessors score each submission blind, the lead settles
disagreements, every action goes to an append-only audit log.

db.py          engine, sessions, ORM models, Alembic migrations (migrations/)
accounts.py    users with roles (lead, assessor, earner), argon2 password hashes, sign-in throttling
errors.py      ReviewError and its kinds: NotAllowed, InvalidTransition, NotFound, AuthError, InvalidInput
rules.py       states, the actions each allows, what decisions, scores and submits must satisfy (pure); the
               named domain values (State, DraftStatus, Action, ScoreValue; DecisionView, ScoreView)
deidentify.py  all masking: the earner's identity (every term derived from the manifest's name, e-mail and
               organisation), other names, e-mails and phone numbers (Presidio + spaCy NER), one placeholder
               vocabulary
blind.py       a Masker per submission (deidentify, then the earner's identity again); a screening run parsed once
views.py       the view models each role is shown (a cited page whole: PlaceView), and their pure builders
queries.py     reads and writes inside a transaction
reading.py     views assembled from the database
service.py     ReviewService: one transaction per action, with permissions and the audit log
calibration.py a gold set, assessors' agreement with it, and who may get live work
anchoring.py   the anchoring check: some assessors score without the AI draft
program.py     the program's settings for both (PRESCREEN_CALIBRATION_*)
demo.py        `prescreen demo`: a queue with work in every state, made through the service
wiring.py      the composition root: the database from settings and the screening pipeline (LazyScreener)
workflow.py    the names the UI, the CLI and the tests import, re-exported

Domain code only: the UI (prescreen.ui) and the CLI are thin edges over ReviewService.
"""
