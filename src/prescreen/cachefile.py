"""JSON cache entries that a kill cannot tear: written to a temporary file and renamed into place.

An entry that cannot be read back (torn by an older version, truncated by a full disk, edited by hand) is a
miss, never an error: the caller computes the value again and the entry is rewritten.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def read_json(path: Path | None) -> dict[str, Any] | None:
    """The entry's object, or None when there is none or it cannot be read as a JSON object."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("cache entry %s is unreadable (%s): computing it again", path, exc)
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path | None, data: dict[str, Any]) -> None:
    """Write the entry atomically (temporary file in the same folder, then os.replace); a cache that cannot be
    written is skipped, not an error."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        log.warning("cannot write cache entry %s (%s): going on without it", path, exc)
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        log.warning("cannot write cache entry %s (%s): going on without it", path, exc)
