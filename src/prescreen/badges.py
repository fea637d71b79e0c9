"""Open Badges 3.0: an earned final result as an OpenBadgeCredential, signed by the issuer as a VC-JWT.

The credential follows the Verifiable Credentials data model 2.0 (JSON-LD contexts: VC v2 and OB 3.0.3). It
carries the achievement (the credential and its criteria, from the rubric the submission was screened with),
one ResultDescription per rubric detail with its RubricCriterionLevels and the earner's result at
`demonstrated`, and evidence that names the artifacts without including them. The earner is identified by
name (from the submission manifest) and by a salted hash of their e-mail: the credential is the only place
prescreen writes the earner's name for anyone but the lead.

Signing: VC-JOSE-COSE (`typ: vc+jwt`, the credential is the JWT's payload), alg Ed25519 (RFC 9864), through
joserfc. The issuer's key is a PKCS#8 PEM file, made by `prescreen badge keygen`; `kid` is the issuer id and
the key's RFC 7638 thumbprint, so a verifier finds the public key in the issuer's profile.

Issuer settings are the `issuer` group of the Settings (PRESCREEN_ISSUER_*).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from prescreen.audit.facts import latest_runs
from prescreen.errors import ConfigurationError, PrescreenError
from prescreen.models import ArtifactRef, Earner, Manifest, Rubric
from prescreen.review.db import FinalResult, GoldSubmission, ScreeningRun, Submission, aware
from prescreen.settings import IssuerSettings

ALG: Final = "Ed25519"  # the curve, and the JWS algorithm (RFC 9864)
TYP = "vc+jwt"
CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
SCHEMA = {"id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
          "type": "1EdTechJsonSchemaValidator2019"}
LEVELS = (("demonstrated", "Demonstrated", "The evidence shows the detail."),
          ("not_yet", "Not yet", "The evidence does not show the detail yet."))


class BadgeError(PrescreenError):
    """A badge cannot be issued or verified (no earned result, a bad signature); the message says why."""


class Award(BaseModel):
    """An earned final result, with what the credential needs from the screening it was judged on."""

    submission: int
    code: str
    attempt: int
    rubric: Rubric
    earner: Earner
    artifacts: list[ArtifactRef]
    cited: dict[str, list[str]] = Field(description="Artifact id -> the details the earner cites it for.")
    per_detail: dict[str, str] = Field(description="Detail id -> final score.")
    decided_at: datetime


class IssuedBadge(BaseModel):
    credential: dict = Field(description="The OpenBadgeCredential (the JWT's payload).")
    jwt: str = Field(description="The credential signed as a compact VC-JWT.")


# ---------------------------------------------------------------- keys


def generate_key(path: Path, overwrite: bool = False) -> OKPKey:
    """A new Ed25519 key, written as PKCS#8 PEM readable only by its owner; an existing key is kept unless
    `overwrite` (every badge signed with it would stop verifying)."""
    if path.exists() and not overwrite:
        raise BadgeError(f"{path} exists already: badges signed with it verify only with it (--force replaces it)")
    key = OKPKey.generate_key(ALG)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key.as_pem(private=True))
    return key


def load_key(path: Path) -> OKPKey:
    if not path.is_file():
        raise ConfigurationError(f"no issuer key at {path}: make one with `prescreen badge keygen` "
                                 "(or set PRESCREEN_ISSUER_KEY_FILE)")
    try:
        key = OKPKey.import_key(path.read_bytes())
    except (ValueError, JoseError) as exc:
        raise ConfigurationError(f"{path} is not an Ed25519 private key in PEM ({exc})") from exc
    if key.curve_name != ALG or not key.is_private:
        raise ConfigurationError(f"{path} must hold an Ed25519 private key")
    return key


def public_jwk(key: OKPKey, issuer_id: str = "") -> dict:
    """The public key as a JWK, with the `kid` the credentials carry: publish it in the issuer's profile."""
    return {**key.as_dict(private=False), "kid": key_id(key, issuer_id), "alg": ALG, "use": "sig"}


def key_id(key: OKPKey, issuer_id: str) -> str:
    return f"{issuer_id}#{key.thumbprint()}"


# ---------------------------------------------------------------- reading the award


def load_award(sessions: sessionmaker, submission_id: int) -> Award:
    """The earned final result of a submission; a BadgeError when it has none (or it was not earned)."""
    with sessions() as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise BadgeError(f"no submission #{submission_id}")
        final = s.scalar(select(FinalResult).where(FinalResult.submission_id == sub.id))
        _check_earned(sub, final)
        if s.scalar(select(GoldSubmission.id).where(GoldSubmission.submission_id == sub.id)) is not None:
            raise BadgeError(f"submission #{sub.id} is in the gold set: gold submissions are calibration "
                             "material, never live results, so no badge")
        run = s.execute(latest_runs().where(ScreeningRun.submission_id == sub.id)).one_or_none()
        manifest = Manifest.model_validate_json(run.manifest_json) if run and run.manifest_json else None
        if manifest is None or not run.rubric_json:
            raise BadgeError(f"submission #{sub.id} has no manifest or rubric stored: ingest it again")
        return Award(submission=sub.id, code=sub.code, attempt=sub.attempt,
                     rubric=Rubric.model_validate_json(run.rubric_json), earner=manifest.earner,
                     artifacts=manifest.artifacts, cited=_cited(manifest), decided_at=aware(final.decided_at),
                     per_detail={d: pair[0] for d, pair in json.loads(final.per_detail_json).items()})


def _check_earned(sub: Submission, final: FinalResult | None) -> None:
    label = f"submission #{sub.id} ({sub.code}, attempt {sub.attempt})"
    if final is None:
        raise BadgeError(f"{label} is {sub.state.replace('_', ' ')}: it has no final result yet, so no badge")
    if final.result != "earned":
        raise BadgeError(f"{label} was not earned (final result: {final.result.replace('_', ' ')}): "
                         "only an earned result gets a badge")


def _cited(manifest: Manifest) -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for entry in manifest.self_analysis:
        for ref in entry.evidence:
            details = cited.setdefault(ref.artifact, [])
            if entry.detail not in details:
                details.append(entry.detail)
    return cited


# ---------------------------------------------------------------- the credential


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_credential(award: Award, issuer: IssuerSettings, now: datetime, credential_id: str | None = None) -> dict:
    """The unsigned OpenBadgeCredential of an earned award."""
    profile = issuer.profile()
    return {
        "@context": CONTEXTS,
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": award.rubric.title,
        "description": f"{award.rubric.title}: earned on attempt {award.attempt}, every detail demonstrated.",
        "issuer": profile,
        "validFrom": _stamp(now),
        "awardedDate": _stamp(award.decided_at),
        "credentialSubject": _subject(award, issuer),
        "evidence": _evidence(award),
        "credentialSchema": [SCHEMA],
    }


def _subject(award: Award, issuer: IssuerSettings) -> dict:
    achievement_id = issuer.achievement_id(award.rubric)
    results = [{"type": ["Result"], "resultDescription": f"{achievement_id}#{d.id}",
                "achievedLevel": f"{achievement_id}#{d.id}-{award.per_detail[d.id]}", "status": "Completed"}
               for d in award.rubric.details if d.id in award.per_detail]
    return {"type": ["AchievementSubject"], "identifier": _identifiers(award.earner),
            "achievement": achievement(award.rubric, issuer), "result": results}


def _identifiers(earner: Earner) -> list[dict]:
    found = []
    if earner.name:
        found.append({"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": earner.name})
    if earner.email:
        salt = secrets.token_hex(8)
        digest = hashlib.sha256((earner.email.strip().lower() + salt).encode()).hexdigest()
        found.append({"type": "IdentityObject", "identityType": "emailAddress", "hashed": True,
                      "identityHash": f"sha256${digest}", "salt": salt})
    if not found:
        raise BadgeError("the submission's manifest names no earner (no name, no e-mail): a badge needs a recipient")
    return found


def achievement(rubric: Rubric, issuer: IssuerSettings) -> dict:
    """The credential as an OB 3.0 Achievement: criteria from the rubric, one ResultDescription per detail."""
    achievement_id = issuer.achievement_id(rubric)
    return {"id": achievement_id, "type": ["Achievement"], "achievementType": "MicroCredential",
            "name": rubric.title, "description": rubric.source.strip() or rubric.title, "humanCode": rubric.id,
            "version": rubric.version, "creator": issuer.profile(), "criteria": {"narrative": criteria(rubric)},
            "resultDescription": [_result_description(achievement_id, d.id, d.text) for d in rubric.details]}


def criteria(rubric: Rubric) -> str:
    """The rubric's passing rule and its outcomes with their details, as Markdown."""
    lines = [rubric.passing_rule, ""]
    for outcome in rubric.outcomes:
        lines.append(f"**{outcome.id}** {outcome.title}")
        lines += [f"- {d.id}: {' '.join(d.text.split())}" for d in outcome.details]
        lines.append("")
    return "\n".join(lines).strip()


def _result_description(achievement_id: str, detail_id: str, text: str) -> dict:
    base = f"{achievement_id}#{detail_id}"
    return {"id": base, "type": ["ResultDescription"], "name": f"{detail_id}: {' '.join(text.split())}",
            "resultType": "RubricCriterionLevel", "requiredLevel": f"{base}-demonstrated",
            "rubricCriterionLevel": [{"id": f"{base}-{level}", "type": ["RubricCriterionLevel"], "name": name,
                                      "description": description} for level, name, description in LEVELS]}


def _evidence(award: Award) -> list[dict]:
    """One Evidence per artifact: its title and file, and the details it is cited for; never its content."""
    return [{"type": ["Evidence"], "name": a.title or a.file, "genre": "Artifact",
             "description": f"{a.file} in submission {award.code} (attempt {award.attempt}), kept by the issuer"
                            + (f"; cited for {', '.join(award.cited[a.id])}" if award.cited.get(a.id) else "")}
            for a in award.artifacts]


# ---------------------------------------------------------------- signing and verifying


def sign(credential: dict, key: OKPKey, issuer_id: str) -> str:
    header = {"alg": ALG, "typ": TYP, "cty": "vc", "kid": key_id(key, issuer_id)}
    payload = json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[ALG])


def verify(token: str, public_key: OKPKey | dict) -> dict:
    """The credential a VC-JWT carries, when its Ed25519 signature matches `public_key`; else a BadgeError."""
    key = public_key if isinstance(public_key, OKPKey) else OKPKey.import_key(public_key)
    try:
        signed = jws.deserialize_compact(token.strip(), key, algorithms=[ALG])
    except (JoseError, ValueError) as exc:
        raise BadgeError(f"the badge does not verify: {exc}") from exc
    if signed.headers().get("typ") != TYP:
        raise BadgeError(f"not a VC-JWT (typ {signed.headers().get('typ')!r}, expected {TYP!r})")
    return json.loads(signed.payload)


def issue_badge(sessions: sessionmaker, submission_id: int, issuer: IssuerSettings, key: OKPKey,
                now: datetime | None = None) -> IssuedBadge:
    """Read the earned result, build its OpenBadgeCredential and sign it."""
    credential = build_credential(load_award(sessions, submission_id), issuer, now or datetime.now(UTC))
    return IssuedBadge(credential=credential, jwt=sign(credential, key, issuer.id))


def issue_with(sessions: sessionmaker, submission_id: int, issuer: IssuerSettings, data_dir: Path) -> IssuedBadge:
    """Issue with the configured issuer and its key file (PRESCREEN_ISSUER_KEY_FILE, else in `data_dir`); what is
    missing from the configuration is said before anything is read."""
    issuer.profile()
    return issue_badge(sessions, submission_id, issuer, load_key(issuer.key_path(data_dir)))
