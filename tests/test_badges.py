"""Open Badges 3.0: an earned result becomes an OpenBadgeCredential signed as a VC-JWT (Ed25519). Checked against
the OB 3.0 JSON Schema and context in ../shared/spec/openbadges-3.0/ (offline), with the signature verified and
a tampered credential refused. The review database is filled through the real ReviewService."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema.validators import validator_for

from prescreen.badges import (
    BadgeError,
    IssuerSettings,
    generate_key,
    issue_badge,
    load_key,
    public_jwk,
    verify,
)
from prescreen.cli import main
from prescreen.errors import ConfigurationError
from prescreen.settings import Settings
from tests.conftest import DETAILS, EARNER, PAGE_2, ReviewKit

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "openbadges-3.0"
ISSUER = {"PRESCREEN_ISSUER_ID": "https://leaders.example.org/issuer",
          "PRESCREEN_ISSUER_NAME": "Example Leaders Network", "PRESCREEN_ISSUER_URL": "https://leaders.example.org"}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
#: VC data model 2.0 terms (its context is not stored offline); everything else must be in the OB 3.0 context
VC_TERMS = {"@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject", "evidence",
            "credentialSchema", "credentialStatus", "proof", "name", "description"}


@pytest.fixture
def issuer(monkeypatch) -> IssuerSettings:
    for name, value in ISSUER.items():
        monkeypatch.setenv(name, value)
    return Settings().issuer


@pytest.fixture
def key(tmp_path):
    return generate_key(tmp_path / "keys" / "issuer.pem")


def finish(kit, scores: dict | None = None, **kwargs) -> int:
    sub = kit.in_review(**kwargs)
    kit.complete("ana", sub, scores)
    kit.complete("ben", sub, scores)
    return sub


def schema_errors(credential: dict) -> list[str]:
    schema = json.loads((SPEC / "achievementcredential.schema.json").read_text(encoding="utf-8"))
    validator = validator_for(schema)(schema, format_checker=validator_for(schema).FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(credential)]


def context_terms() -> set[str]:
    """Every term the OB 3.0.3 context defines, at the top or scoped to a type."""
    context = json.loads((SPEC / "context-3.0.3.json").read_text(encoding="utf-8"))["@context"]
    terms = set(context)
    for value in context.values():
        if isinstance(value, dict) and isinstance(value.get("@context"), dict):
            terms |= set(value["@context"])
    return terms


def keys_of(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


# ---------------------------------------------------------------- the credential


def test_an_earned_result_is_a_valid_signed_open_badge(kit, issuer, key):
    sub = finish(kit)
    issued = issue_badge(kit.service.sessions, sub, issuer, key, now=NOW)
    credential = verify(issued.jwt, public_jwk(key, issuer.id))
    assert credential == issued.credential
    assert schema_errors(credential) == []
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["@context"][1] == "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
    assert credential["validFrom"] == "2026-06-01T12:00:00Z" and credential["awardedDate"].endswith("Z")
    assert credential["issuer"] == {"id": ISSUER["PRESCREEN_ISSUER_ID"], "type": ["Profile"],
                                    "name": "Example Leaders Network", "url": "https://leaders.example.org"}
    assert keys_of(credential) <= context_terms() | VC_TERMS


def test_achievement_results_and_evidence(kit, issuer, key):
    credential = issue_badge(kit.service.sessions, finish(kit), issuer, key, now=NOW).credential
    subject = credential["credentialSubject"]
    achievement = subject["achievement"]
    assert achievement["id"] == "https://leaders.example.org/issuer/achievements/test-credential/1"
    assert (achievement["achievementType"], achievement["name"], achievement["version"]) == (
        "MicroCredential", "Test credential", "1")
    assert "- EO1.2: Examines data." in achievement["criteria"]["narrative"]
    descriptions = {d["id"]: d for d in achievement["resultDescription"]}
    assert len(descriptions) == len(DETAILS)
    for result in subject["result"]:
        description = descriptions[result["resultDescription"]]
        levels = {level["id"]: level["name"] for level in description["rubricCriterionLevel"]}
        assert description["resultType"] == "RubricCriterionLevel"
        assert levels[result["achievedLevel"]] == "Demonstrated" == levels[description["requiredLevel"]]
    assert [r["achievedLevel"].rsplit("#", 1)[1] for r in subject["result"]] == [f"{d}-demonstrated" for d in DETAILS]
    evidence = {e["name"]: e["description"] for e in credential["evidence"]}
    assert len(evidence) == 2 and all(e["type"] == ["Evidence"] for e in credential["evidence"])
    assert "artifacts/audit.pdf" in evidence["Equity audit by Teresa Nakamura"]
    assert evidence["Equity audit by Teresa Nakamura"].endswith("cited for EO1.1, EO1.2")
    assert PAGE_2 not in json.dumps(credential)  # evidence points to artifacts, never carries them


def test_the_earner_is_named_and_the_email_only_hashed(kit, issuer, key):
    sub = finish(kit)
    credential = issue_badge(kit.service.sessions, sub, issuer, key).credential
    identifiers = {i["identityType"]: i for i in credential["credentialSubject"]["identifier"]}
    assert identifiers["name"] == {"type": "IdentityObject", "identityType": "name", "hashed": False,
                                   "identityHash": EARNER["name"]}
    assert identifiers["emailAddress"]["hashed"] and identifiers["emailAddress"]["identityHash"].startswith("sha256$")
    assert EARNER["email"] not in json.dumps(credential)
    assert EARNER["name"] not in kit.service.open("ana", sub).model_dump_json()  # assessors still never see it


MUTATIONS = [
    (lambda c: c.pop("validFrom"), "'validFrom' is a required property"),
    (lambda c: c.__setitem__("type", "OpenBadgeCredential"), "is not of type 'array'"),
    (lambda c: c["credentialSubject"]["achievement"].pop("criteria"), "'criteria' is a required property"),
    (lambda c: c["credentialSubject"]["result"][0].__setitem__("type", "Result"), "is not of type 'array'"),
    (lambda c: c["credentialSubject"]["identifier"][0].__setitem__("hashed", "no"), "is not of type 'boolean'"),
    (lambda c: c["credentialSubject"]["achievement"]["resultDescription"][0].pop("resultType"),
     "'resultType' is a required property"),
]


def test_the_schema_check_bites_on_missing_fields_and_wrong_types(kit, issuer, key):
    credential = issue_badge(kit.service.sessions, finish(kit), issuer, key).credential
    for mutate, message in MUTATIONS:
        broken = json.loads(json.dumps(credential))
        mutate(broken)
        assert any(message in e for e in schema_errors(broken)), message


# ---------------------------------------------------------------- signatures


def test_a_tampered_or_foreign_credential_does_not_verify(kit, issuer, key, tmp_path):
    token = issue_badge(kit.service.sessions, finish(kit), issuer, key).jwt
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["identifier"][0]["identityHash"] = "Someone Else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(BadgeError, match="does not verify"):
        verify(f"{header}.{forged}.{signature}", public_jwk(key))
    other = generate_key(tmp_path / "other.pem")
    with pytest.raises(BadgeError, match="does not verify"):
        verify(token, public_jwk(other))
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) == {
        "alg": "Ed25519", "typ": "vc+jwt", "cty": "vc", "kid": public_jwk(key, issuer.id)["kid"]}


def test_only_an_earned_final_result_gets_a_badge(kit, issuer, key):
    not_earned = finish(kit, {"EO1.2": "not_yet"}, code="N")
    with pytest.raises(BadgeError, match=r"#\d+ \(N, attempt 1\) was not earned .*only an earned result gets a badge"):
        issue_badge(kit.service.sessions, not_earned, issuer, key)
    open_one = kit.in_review(code="O")
    with pytest.raises(BadgeError, match="is in review: it has no final result yet"):
        issue_badge(kit.service.sessions, open_one, issuer, key)
    with pytest.raises(BadgeError, match="no submission #999"):
        issue_badge(kit.service.sessions, 999, issuer, key)


def test_issuer_settings_and_keys(tmp_path, monkeypatch, key):
    with pytest.raises(ConfigurationError, match="set PRESCREEN_ISSUER_ID and PRESCREEN_ISSUER_NAME"):
        IssuerSettings().profile()
    path = tmp_path / "keys" / "issuer.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path).thumbprint() == key.thumbprint()
    with pytest.raises(BadgeError, match="exists already"):
        generate_key(path)
    assert generate_key(path, overwrite=True).thumbprint() != key.thumbprint()
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ConfigurationError, match="not an Ed25519 private key"):
        load_key(tmp_path / "junk.pem")
    with pytest.raises(ConfigurationError, match="prescreen badge keygen"):
        load_key(tmp_path / "none.pem")
    monkeypatch.setenv("PRESCREEN_ISSUER_KEY_FILE", str(path))
    assert Settings().issuer.key_path(tmp_path) == path


# ---------------------------------------------------------------- the commands


@pytest.fixture
def cli_kit():
    from prescreen.review.db import database_url
    from prescreen.settings import Settings

    kit = ReviewKit(database_url(Settings()))
    yield kit
    kit.engine.dispose()


def test_badge_commands(cli_kit, issuer, tmp_path):
    runner = CliRunner()
    keygen = runner.invoke(main, ["badge", "keygen"])
    assert keygen.exit_code == 0, keygen.output
    jwk = json.loads(keygen.stdout)
    assert (jwk["kty"], jwk["crv"], "d" in jwk) == ("OKP", "Ed25519", False)
    assert runner.invoke(main, ["badge", "keygen"]).exit_code == 2  # never replaced silently
    earned, not_earned = finish(cli_kit, code="E"), finish(cli_kit, {"EO2.1": "not_yet"}, code="N")
    out = tmp_path / "badge.jwt"
    assert runner.invoke(main, ["badge", "export", str(earned), "--out", str(out)]).exit_code == 0
    credential = verify(out.read_text(encoding="utf-8"), jwk)
    assert schema_errors(credential) == []
    readable = json.loads(runner.invoke(main, ["badge", "export", str(earned), "--format", "json"]).stdout)
    assert readable["credentialSubject"]["achievement"]["humanCode"] == "test-credential"
    refused = runner.invoke(main, ["badge", "export", str(not_earned)])
    assert refused.exit_code == 2 and "was not earned" in refused.output and "Traceback" not in refused.output
