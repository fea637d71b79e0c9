"""All configuration in one object, read once at the edge (CLI, app) and passed in explicitly.

Environment variables use the prefix PRESCREEN_ and one underscore between group and field:
PRESCREEN_DATA_DIR, PRESCREEN_EMBEDDING_PROVIDER, PRESCREEN_INDEX_CHROMA_HOST, PRESCREEN_LLM_BASE_URL ...
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from prescreen.errors import ConfigurationError

if TYPE_CHECKING:
    from prescreen.models import Rubric

LOCAL_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class EmbeddingSettings(BaseModel):
    provider: Literal["local", "openai"] = Field(
        "local", description="`local`: the packaged all-MiniLM-L6-v2 on the CPU; `openai`: the OpenAI API."
    )
    model: str | None = Field(None, description="Defaults to all-MiniLM-L6-v2 (local) or text-embedding-3-small.")
    batch_size: int = Field(32, ge=1)

    @property
    def model_name(self) -> str:
        if self.model:
            return self.model
        return LOCAL_EMBEDDING_MODEL if self.provider == "local" else "text-embedding-3-small"


class ChunkingSettings(BaseModel):
    size: int = Field(900, ge=100, description="Characters per chunk.")
    overlap: int = Field(120, ge=0)


class IndexSettings(BaseModel):
    chroma_host: str | None = Field(None, description="A Chroma server (`chroma run`); unset: embedded, on disk.")
    chroma_port: int = 8000
    chroma_ssl: bool = False


class RetrievalSettings(BaseModel):
    candidates: int = Field(20, ge=1, description="How many chunks each ranking (lexical, vector) proposes.")
    top_k: int = Field(6, ge=1, description="Chunks kept per detail after fusion.")


class LimitSettings(BaseModel):
    max_file_mb: float = Field(25, gt=0, description="Larger files are reported as too_large and skipped.")
    max_zip_entries: int = Field(500, ge=1)
    max_zip_total_mb: float = Field(300, gt=0, description="Uncompressed size of a whole zip.")
    max_zip_ratio: float = Field(100, gt=1, description="Largest compression ratio allowed for one entry.")
    # budgets: past one, the file is reported as too_large (with what to do) instead of being read
    max_artifacts: int = Field(60, ge=1, description="Artifacts one submission may list (its parts are not counted).")
    max_file_chars: int = Field(
        300_000, ge=1000, description="Characters of text one artifact may hold (~150 dense pages)."
    )
    max_file_pages: int = Field(500, ge=1, description="Pages one PDF may have.")
    max_part_chars: int = Field(
        100_000, ge=1000, description="Characters of text one part (narrative, reflection) may hold."
    )
    max_total_chars: int = Field(
        400_000, ge=1000,
        description="Characters of text in all artifacts of a submission. With the parts' caps this bounds its chunks, "
        "so its embedding time (about 800 chunks in all: near a minute, cold, on two CPU cores).")
    max_total_pages: int = Field(800, ge=1, description="PDF pages in all artifacts of a submission.")
    extract_timeout_s: float = Field(
        30, gt=0, description="Seconds one file's extraction may take; then it is stopped."
    )
    extract_memory_mb: int = Field(
        1024, ge=256, description="Memory one file's extraction may use; then it is stopped."
    )


class LLMSettings(BaseModel):
    base_url: str | None = Field(None, description="An OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama).")
    api_key: SecretStr | None = Field(None, description="Key for that endpoint; OPENAI_API_KEY is used when unset.")
    model: str = "gpt-4o-mini"
    temperature: float = 0.0
    timeout: float = Field(120.0, gt=0, description="Seconds per request (a small CPU server may need them all).")
    outcome_deadline: float = Field(
        300.0, gt=0, description="Seconds one essential outcome's calls may take, retries included; then they are "
        "cancelled and the extractive drafter stands in.")
    max_retries: int = Field(3, ge=0, description="Retries with backoff on 429, 5xx, timeouts and dropped connections.")
    max_concurrency: int | None = Field(
        None, ge=1, description="Model calls in flight at once, across outcomes and submissions; unset: 1 for a server "
        "at base_url (a local server often has one slot), 4 for OpenAI. Either way one call goes first, and a timeout "
        "brings it back to one.")
    structured_output: Literal["json_schema", "json_object_schema", "json_object", "none"] = Field(
        "json_schema", description="The first way to ask for JSON; a server that refuses it (400, 422 or 500) is asked "
        "the next way, and what worked is remembered per base URL and model.")
    system_role: Literal["auto", "yes", "no"] = Field(
        "auto", description="`no`: the rules go in the first user turn, for chat templates without a system role; "
        "`auto`: so for model families known to lack one (Gemma), or once a server refuses a system message.")
    max_passages: int = Field(
        16, ge=1, description="Passages (whole chunks) shown to the model per essential outcome: each detail's next "
        "best in turn, as the sentence model ranks them, the place the earner points to first."
    )
    read_places: bool = Field(
        True, description="The model also reads each place the self-analysis points to, and only a place it reads as "
        "holding nothing for the detail is flagged `evidence_not_at_locator` (false: the sentence model judges them)."
    )
    token_budget: int = Field(120_000, ge=1000, description="Prompt + completion tokens one submission may spend.")
    price_in_per_mtok: float = Field(0.15, ge=0, description="USD per million prompt tokens (0 for a local server).")
    price_out_per_mtok: float = Field(0.60, ge=0, description="USD per million completion tokens.")

    @property
    def concurrency(self) -> int:
        return self.max_concurrency or (1 if self.base_url else 4)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """US dollars, from the prices per million tokens."""
        return round((prompt_tokens * self.price_in_per_mtok + completion_tokens * self.price_out_per_mtok) / 1e6, 6)


class CalibrationSettings(BaseModel):
    """Assessor calibration against the gold set (review/calibration.py)."""

    required: bool = Field(False, description="Every assessor must pass calibration before live work; otherwise "
                           "only those a lead asked to calibrate, and those below the threshold, are held back.")
    gold_reviews: int = Field(2, ge=1, description="Gold submissions an assessor scores before the agreement counts.")
    threshold: float = Field(0.8, ge=0, le=1, description="Agreement with the true scores needed to pass "
                             "(BloomBoard holds assessors to 80%).")


class AnchoringSettings(BaseModel):
    """The anchoring check (review/anchoring.py)."""

    check: bool = Field(False, description="Hide the AI draft from one of the two assessors, chosen at random and "
                        "recorded, so the audit can compare agreement with and without it.")


KEY_FILE = "issuer-ed25519.pem"


class IssuerSettings(BaseModel):
    """Who issues the badges: PRESCREEN_ISSUER_ID, _NAME (required to issue), _URL, _EMAIL, _DESCRIPTION,
    _KEY_FILE (default: issuer-ed25519.pem in the data directory)."""

    id: str = Field("", description="The issuer's profile URL (or DID), where its public key is published.")
    name: str = Field("", description="The organization's name, as earners and verifiers read it.")
    url: str | None = Field(None, description="The organization's home page.")
    email: str | None = None
    description: str | None = None
    key_file: Path | None = Field(None, description="The Ed25519 private key (PEM); `prescreen badge keygen` makes it.")

    def key_path(self, data_dir: Path) -> Path:
        return self.key_file or data_dir / KEY_FILE

    def profile(self) -> dict:
        """The issuer's OB 3.0 Profile; a ConfigurationError naming the variables when id or name is unset."""
        missing = [f"PRESCREEN_ISSUER_{n.upper()}" for n in ("id", "name") if not getattr(self, n).strip()]
        if missing:
            raise ConfigurationError(f"set {' and '.join(missing)} to issue badges (the issuer's profile URL and name)")
        optional = {"url": self.url, "email": self.email, "description": self.description}
        return {"id": self.id, "type": ["Profile"], "name": self.name, **{k: v for k, v in optional.items() if v}}

    def achievement_id(self, rubric: Rubric) -> str:
        return f"{self.id.rstrip('/')}/achievements/{rubric.id}/{rubric.version}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PRESCREEN_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("prescreen")))
    rubrics_dir: Path | None = Field(None, description="Extra rubrics; the shipped ones are always available.")
    evidence_model: Path | None = Field(
        None, description="Weights of the offline drafter's evidence model (`prescreen train` writes them); unset: "
        "evidence_model.json in the data directory when it exists, else the weights shipped with prescreen.",
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("PRESCREEN_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("PRESCREEN_DATABASE_URL", "DATABASE_URL"),
        description="The review database (SQLAlchemy URL, e.g. postgresql://user@host/db); "
        "unset: a SQLite file, review.sqlite, in the data directory.",
    )
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    calibration: CalibrationSettings = Field(default_factory=CalibrationSettings)
    anchoring: AnchoringSettings = Field(default_factory=AnchoringSettings)
    issuer: IssuerSettings = Field(default_factory=IssuerSettings)

    @property
    def llm_configured(self) -> bool:
        """A model is configured when there is an endpoint or a key for one."""
        return bool(self.llm.base_url or self.llm.api_key or self.openai_api_key)

    def index_name(self) -> str:
        """Chroma collection name: changes whenever the vectors would, so stale vectors are never reused."""
        key = f"{self.embedding.provider}|{self.embedding.model_name}|{self.chunking.size}|{self.chunking.overlap}"
        return "chunks-" + hashlib.sha256(key.encode()).hexdigest()[:16]
