"""A fast stand-in for review/deidentify.py's `mask` in tests that are not about masking (never for assessors):
e-mails, phone numbers and the given names only, with deidentify's placeholders. The review's Masker still
runs `mask_identity` after it, as it does after the real model."""

from __future__ import annotations

import re

from prescreen.review.deidentify import PLACEHOLDERS

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w-])")


def fallback_mask(text: str, names: list[str]) -> str:
    """`text` with e-mails, phone numbers and the exact `names` (any case) replaced by placeholders."""
    text = _PHONE.sub(PLACEHOLDERS["PHONE_NUMBER"], _EMAIL.sub(PLACEHOLDERS["EMAIL_ADDRESS"], text))
    if not names:
        return text
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.sub(rf"(?<!\w)(?:{alternatives})(?!\w)", PLACEHOLDERS["PERSON"], text, flags=re.IGNORECASE)
