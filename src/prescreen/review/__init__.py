"""The review stage: assessor decisions, blind scores, adjudication and the audit log (after the report).

db.py         engine, sessions, ORM models, Alembic migrations (migrations/)
accounts.py   users with roles (lead, assessor), argon2 password hashes
workflow.py   ReviewService: states, who may see and do what, blind views, adjudication, attempts
deidentify.py masking of names, e-mails and phone numbers in what assessors read

Domain code only: the UI (prescreen.ui) and the CLI are thin edges over ReviewService.
"""
