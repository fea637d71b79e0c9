"""Open a submission bundle (a folder, or a zip of one) and read its manifest, submission.yaml.

Nothing here trusts the bundle: a zip is unpacked entry by entry with limits on count, size and
compression ratio, and no path (zip entry or manifest path) may leave the bundle's root.
"""

from __future__ import annotations

import re
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TypeVar

from pydantic import BaseModel, Field, ValidationError

from prescreen.errors import BundleError, UnsafeArchiveError
from prescreen.models import ArtifactRef, Manifest, ManifestHead, ManifestIssue, SelfAnalysisEntry
from prescreen.settings import LimitSettings
from prescreen.yamlfile import YamlDoc, dotted, parse_yaml

MANIFEST_NAME = "submission.yaml"
MAX_MANIFEST_BYTES = 1024 * 1024
#: The longest text a manifest field may hold (by key); longer text is cut and reported as a manifest issue.
FIELD_CAPS = {"name": 200, "email": 254, "organization": 300, "title": 300, "explanation": 10_000}
DEFAULT_FIELD_CAP = 500  # ids, credential, paths, locators
STALE_AFTER_S = 24 * 3600  # an unpacked folder this old belongs to a screen that was killed
MAX_FIELD_DEPTH = 8  # submission.yaml nests four levels deep: nothing deeper is read
MIB = 1024 * 1024
_BLOCK = 64 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_IGNORED_PREFIXES = ("__MACOSX/",)
_IGNORED_NAMES = (".DS_Store",)
_ZIP_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError,
)
M = TypeVar("M", bound=BaseModel)


class Bundle(BaseModel):
    """A bundle ready to screen: its root folder on disk and its validated manifest.

    Use it as a context manager (or call close()): a zip's unpacked folder is removed when the screen is done.
    """

    root: Path
    origin: str
    manifest: Manifest
    unpacked: Path | None = Field(None, description="The folder a zip was unpacked into, removed by close().")

    def close(self) -> None:
        if self.unpacked is not None:
            shutil.rmtree(self.unpacked, ignore_errors=True)

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_bundle(path: Path, workdir: Path, limits: LimitSettings) -> Bundle:
    """Open a bundle folder, or unpack a bundle zip safely into a new folder under `workdir`."""
    path = Path(path)
    if path.is_dir():
        return _open_root(path, path.resolve(), unpacked=None)
    if path.is_file() and path.suffix.lower() == ".zip":
        unpacked = extract_zip(path, workdir, limits)
        try:
            return _open_root(path, _find_root(unpacked), unpacked)
        except BaseException:
            shutil.rmtree(unpacked, ignore_errors=True)
            raise
    if not path.exists():
        raise BundleError(f"{path}: no such file or folder")
    raise BundleError(f"{path}: a bundle is a folder or a .zip file holding {MANIFEST_NAME}")


def _open_root(path: Path, root: Path, unpacked: Path | None) -> Bundle:
    if not (root / MANIFEST_NAME).is_file():
        raise BundleError(f"{path}: no {MANIFEST_NAME} at the bundle root")
    return Bundle(root=root, origin=str(path), manifest=read_manifest(root), unpacked=unpacked)


def resolve_member(root: Path, relpath: str) -> Path:
    """The file `relpath` names inside `root`; BundleError if it is absolute, leaves root or uses a link."""
    parts = _safe_parts(relpath)
    if parts is None:
        raise BundleError(f"{relpath!r}: the path must be relative to the bundle root and stay inside it")
    target = Path(root)
    for part in parts:
        target = target / part
        if target.is_symlink():
            raise BundleError(f"{relpath!r}: the path goes through a link; put the file itself in the bundle")
    return target


def _safe_parts(relpath: str) -> list[str] | None:
    """The path's components, or None when it is absolute, has a drive letter or a `..`."""
    text = relpath.replace("\\", "/")
    if not text.strip() or text.startswith("/") or _DRIVE.match(text) or "\x00" in text:
        return None
    parts = [p for p in PurePosixPath(text).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return parts


# ---------------------------------------------------------------- zip


def extract_zip(path: Path, workdir: Path, limits: LimitSettings) -> Path:
    """Unpack the zip into a fresh folder under `workdir` and return that folder."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    sweep_stale(Path(workdir))
    dest = Path(tempfile.mkdtemp(prefix="bundle-", dir=workdir))
    try:
        with zipfile.ZipFile(path) as archive:
            _unpack(archive, dest, limits)
    except BundleError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except UnicodeDecodeError as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise BundleError(
            f"{path}: a file name in the zip is marked UTF-8 but is not ({exc.object[:60]!r}); "
            "rename the file or zip the bundle folder again with a current zip tool"
        ) from None
    except _ZIP_ERRORS as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise BundleError(f"{path}: not a readable zip file ({exc}); zip the bundle folder again") from exc
    return dest


def sweep_stale(workdir: Path, older_than_s: float = STALE_AFTER_S) -> None:
    """Remove unpacked folders that a killed screen left behind (no screen runs for a day)."""
    cutoff = time.time() - older_than_s
    for folder in workdir.glob("bundle-*"):
        try:
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _unpack(archive: zipfile.ZipFile, dest: Path, limits: LimitSettings) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_zip_entries:
        raise UnsafeArchiveError(f"the zip holds {len(infos)} entries, more than the limit of {limits.max_zip_entries}")
    members = [(info, _entry_parts(info)) for info in infos if not _is_ignored(info.filename)]
    _check_declared_sizes([info for info, _ in members], limits)
    budget = _Budget(limit=int(limits.max_zip_total_mb * MIB))
    for info, parts in members:
        target = dest.joinpath(*parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:
            _stream(archive, info, budget, limits.max_zip_ratio, out)


def _is_ignored(name: str) -> bool:
    return name.startswith(_IGNORED_PREFIXES) or PurePosixPath(name).name in _IGNORED_NAMES


def _entry_parts(info: zipfile.ZipInfo) -> list[str]:
    """The entry's path components; UnsafeArchiveError for an absolute path, `..` or a link."""
    if info.is_dir() and not PurePosixPath(info.filename).parts:  # "./", written by some zip tools
        return []
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeArchiveError(f"zip entry {info.filename!r} is a symbolic link; links are not allowed")
    parts = _safe_parts(info.filename)
    if parts is None:
        raise UnsafeArchiveError(f"zip entry {info.filename!r} would be written outside the bundle folder")
    return parts


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: LimitSettings) -> None:
    """Reject what the zip's own directory says is too big, before writing anything."""
    seen: set[str] = set()
    for info in infos:
        key = "/".join(_safe_parts(info.filename) or [info.filename])
        if key in seen and not info.is_dir():
            raise UnsafeArchiveError(f"zip entry {info.filename!r} appears twice")
        seen.add(key)
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MIB and ratio > limits.max_zip_ratio:
            raise UnsafeArchiveError(
                f"zip entry {info.filename!r} expands {ratio:.0f} times (limit {limits.max_zip_ratio:g}); "
                "it looks like a zip bomb"
            )
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_total_mb * MIB:
        raise UnsafeArchiveError(
            f"the zip would unpack to {total / MIB:.1f} MB, more than the limit of {limits.max_zip_total_mb:g} MB"
        )


@dataclass
class _Budget:
    """Bytes written so far across the whole zip: declared sizes can lie, actual bytes cannot."""

    limit: int
    used: int = 0

    def spend(self, n: int, name: str) -> None:
        self.used += n
        if self.used > self.limit:
            raise UnsafeArchiveError(
                f"zip entry {name!r}: the zip unpacks to more than the limit of {self.limit / MIB:g} MB"
            )


def check_package(path: Path, limits: LimitSettings) -> None:
    """Read a zip-based file (a .docx) through without writing it: UnsafeArchiveError when its entries
    really unpack to more than `max_zip_total_mb`, or one expands more than `max_zip_ratio` times.

    The bytes are counted as they are decompressed, so sizes the zip declares cannot lie, and a bomb is
    stopped at its limit, never read whole."""
    with zipfile.ZipFile(path) as package:
        infos = package.infolist()
        if len(infos) > limits.max_zip_entries:
            raise UnsafeArchiveError(
                f"the file holds {len(infos)} parts, more than the limit of {limits.max_zip_entries}"
            )
        budget = _Budget(limit=int(limits.max_zip_total_mb * MIB))
        for info in infos:
            _stream(package, info, budget, limits.max_zip_ratio)


def _stream(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, max_ratio: float,
            out: IO[bytes] | None = None) -> None:
    """Decompress one entry block by block, into `out` when given, counting the real bytes as they come."""
    size = 0
    with archive.open(info) as src:
        for block in _blocks(src):
            size += len(block)
            budget.spend(len(block), info.filename)
            if size > MIB and size / max(info.compress_size, 1) > max_ratio:
                raise UnsafeArchiveError(
                    f"zip entry {info.filename!r} expands more than {max_ratio:g} times; it looks like a zip bomb"
                )
            if out is not None:
                out.write(block)


def _blocks(src: IO[bytes]) -> Iterator[bytes]:
    while block := src.read(_BLOCK):
        yield block


def _find_root(folder: Path) -> Path:
    """The folder itself, or its one top-level folder when the zip was made of the bundle folder."""
    if (folder / MANIFEST_NAME).is_file():
        return folder
    entries = list(folder.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and (entries[0] / MANIFEST_NAME).is_file():
        return entries[0]
    return folder


# ---------------------------------------------------------------- manifest


def read_manifest(root: Path) -> Manifest:
    """Parse and validate submission.yaml. Fatal problems raise BundleError; the rest become issues."""
    doc = _load_manifest(root)
    capped = _cap_fields(doc)
    try:
        head = ManifestHead.model_validate(doc.data)
    except ValidationError as exc:
        lines = [_format_error(loc, line, msg) for loc, line, msg in doc.describe_errors(exc)]
        raise BundleError(f"{MANIFEST_NAME} is not valid:\n  " + "\n  ".join(lines)) from None
    checker = _ManifestChecker(root=root, doc=doc)
    parts = checker.parts(head.parts)
    return Manifest(
        submission_id=head.submission_id,
        credential=head.credential,
        attempt=head.attempt,
        earner=head.earner,
        parts=parts,
        artifacts=checker.artifacts(head.artifacts, part_ids=set(parts)),
        self_analysis=checker.self_analysis(head.self_analysis),
        issues=capped + checker.issues,
    )


def _load_manifest(root: Path) -> YamlDoc:
    path = resolve_member(root, MANIFEST_NAME)
    if not path.is_file():
        raise BundleError(f"no {MANIFEST_NAME} at the bundle root")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise BundleError(f"{MANIFEST_NAME} is larger than {MAX_MANIFEST_BYTES // 1024} KB; is it the right file?")
    try:
        doc = parse_yaml(path.read_bytes().decode("utf-8-sig"), MANIFEST_NAME)
    except UnicodeDecodeError:
        raise BundleError(f"{MANIFEST_NAME} is not UTF-8 text; save it again as UTF-8") from None
    except ValueError as exc:
        raise BundleError(str(exc)) from None
    if not isinstance(doc.data, dict):
        raise BundleError(f"{MANIFEST_NAME} must be a mapping of keys (format, submission_id, credential, ...)")
    return doc


def _cap_fields(doc: YamlDoc) -> list[ManifestIssue]:
    """Cut every text field of the manifest to its cap (FIELD_CAPS), in place; one issue per field cut.

    Each container is visited once, so YAML aliases that repeat one list many times cost nothing more."""
    issues: list[ManifestIssue] = []
    seen: set[int] = set()
    stack: list[tuple[object, tuple[str | int, ...]]] = [(doc.data, ())]
    while stack:
        node, loc = stack.pop()
        if id(node) in seen or len(loc) > MAX_FIELD_DEPTH:
            continue
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in list(items):
            where = (*loc, key if isinstance(key, int | str) else str(key))
            if isinstance(value, str) and len(value) > (cap := _cap_for(where)):
                node[key] = value[:cap]  # type: ignore[index]
                message = (
                    f"{len(value)} characters, more than the {cap} this field may hold: only the first {cap} are kept"
                )
                issues.append(ManifestIssue(location=dotted(where), line=doc.line_of(where), message=message))
            elif isinstance(value, dict | list):
                stack.append((value, where))
    return sorted(issues, key=lambda issue: (issue.line or 0, issue.location))


def _cap_for(loc: tuple[str | int, ...]) -> int:
    return FIELD_CAPS.get(str(loc[-1]), DEFAULT_FIELD_CAP)


def _format_error(location: str, line: int | None, message: str) -> str:
    where = f"{MANIFEST_NAME} line {line}" if line else MANIFEST_NAME
    return f"{where}: {location}: {message}"


class _ManifestChecker:
    """Validates the manifest's entries one by one, collecting what is wrong as issues."""

    def __init__(self, root: Path, doc: YamlDoc):
        self.root = root
        self.doc = doc
        self.issues: list[ManifestIssue] = []

    def add(self, loc: tuple[str | int, ...], message: str) -> None:
        self.issues.append(ManifestIssue(location=dotted(loc), line=self.doc.line_of(loc), message=message))

    def path_ok(self, loc: tuple[str | int, ...], relpath: str) -> bool:
        try:
            resolve_member(self.root, relpath)
        except BundleError as exc:
            self.add(loc, f"{exc}; the entry is left out")
            return False
        return True

    def parts(self, parts: dict[str, str]) -> dict[str, str]:
        return {key: path for key, path in parts.items() if self.path_ok(("parts", key), path)}

    def artifacts(self, raw: list[object], part_ids: set[str]) -> list[ArtifactRef]:
        kept: dict[str, ArtifactRef] = {}
        for i, entry in enumerate(raw):
            ref = self.validate(ArtifactRef, entry, ("artifacts", i))
            if ref is None or not self.path_ok(("artifacts", i, "file"), ref.file):
                continue
            if ref.id in kept or ref.id in part_ids:
                what = "another artifact" if ref.id in kept else "a part"
                message = f"artifact id {ref.id!r} is already used by {what}; the entry is left out"
                self.add(("artifacts", i, "id"), message)
                continue
            kept[ref.id] = ref
        return list(kept.values())

    def self_analysis(self, raw: list[object]) -> list[SelfAnalysisEntry]:
        entries = (self.validate(SelfAnalysisEntry, entry, ("self_analysis", i)) for i, entry in enumerate(raw))
        return [entry for entry in entries if entry is not None]

    def validate(self, model: type[M], entry: object, loc: tuple[str | int, ...]) -> M | None:
        try:
            return model.model_validate(entry)
        except ValidationError as exc:
            for location, line, message in self.doc.describe_errors(exc, loc):
                issue = ManifestIssue(location=location, line=line, message=f"{message}; the entry is left out")
                self.issues.append(issue)
            return None
