"""Run one file's extraction in a worker process that is killed when it runs past its time limit.

A hostile or broken file (a pathological PDF, a pattern that backtracks, a zip bomb in disguise) can make a
reader run for minutes or take gigabytes. In a worker, the time limit really stops the work (the process is
killed, not asked to stop), and an address-space limit turns runaway memory into a MemoryError in the worker,
not in the screen. Workers start from a fork server that has imported the readers once, so a worker costs
milliseconds, not an interpreter start.
"""

from __future__ import annotations

import atexit
import multiprocessing
import resource
import threading
import zipfile
from collections.abc import Callable
from functools import lru_cache
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from prescreen.bundle import check_package, resolve_member
from prescreen.errors import BundleError, ExtractionError, UnsafeArchiveError
from prescreen.models import Source
from prescreen.settings import LimitSettings

MIB = 1024 * 1024


@lru_cache(maxsize=1)
def _context() -> multiprocessing.context.ForkServerContext:
    """A fork-server context: workers are forked from a clean process, never from one running threads."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["prescreen.extract"])
    return context


def extract_in_worker(root: Path, relpath: str, *, source_id: str, title: str, role: Literal["artifact", "part"],
                      limits: LimitSettings) -> Source:
    """extract.extract_source in a worker; ExtractionError("too_large") when it passes the time or memory limit."""
    kwargs = {"source_id": source_id, "title": title, "role": role, "limits": limits.model_dump()}
    payload = run_in_worker(_extract, (str(root), relpath, kwargs), limits.extract_timeout_s, limits.extract_memory_mb)
    return Source.model_validate_json(payload)


def warm(limits: LimitSettings) -> None:
    """Start the fork server and a worker now, and wait until it answers, so that the first file read does
    not pay for them (screen_bench does, to time the start apart from the cold screen)."""
    run_in_worker(_ready, (), limits.extract_timeout_s, limits.extract_memory_mb)


def run_in_worker(target: Callable[..., str], args: tuple[Any, ...], timeout_s: float, memory_mb: int) -> str:
    """`target(*args)` (a module-level function returning text) in a worker, killed after `timeout_s` seconds.

    ExtractionError raised in the worker comes back as itself; MemoryError and the time limit as too_large.
    The worker is kept for the next file (starting one costs far more than reading most files); one that was
    killed, or ran out of memory, is replaced."""
    with _LOCK:
        worker = _worker(memory_mb)
        try:
            worker.requests.send((target, args))
            if not worker.answers.poll(timeout_s):
                _retire()
                raise ExtractionError("too_large", f"reading the file took longer than the limit of {timeout_s:g} s: "
                                      "split it into smaller files, or export it again (e.g. as PDF with a text layer)")
            status, result = worker.answers.recv()
        except (EOFError, OSError):
            _retire()
            raise ExtractionError("unreadable", "the file's reader stopped without an answer (the file may be "
                                  "damaged): export it again and upload it") from None
    if status == "error":
        if result[0] == "too_large":
            with _LOCK:
                _retire()  # a worker that ran out of memory may be left in a poor state
        raise ExtractionError(*result)
    return result


class _Worker:
    """A worker process serving extraction requests one at a time, under an address-space limit."""

    def __init__(self, memory_mb: int):
        self.memory_mb = memory_mb
        self.requests, worker_requests = _context().Pipe(duplex=False)[::-1]
        worker_answers, self.answers = _context().Pipe(duplex=False)[::-1]
        self.process = _context().Process(target=_serve, args=(worker_requests, worker_answers, memory_mb), daemon=True)
        self.process.start()
        worker_requests.close()
        worker_answers.close()

    def stop(self) -> None:
        for end in (self.requests, self.answers):
            end.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


_LOCK = threading.Lock()
_CURRENT: list[_Worker] = []


def _worker(memory_mb: int) -> _Worker:
    if _CURRENT and (not _CURRENT[0].process.is_alive() or _CURRENT[0].memory_mb != memory_mb):
        _retire()
    if not _CURRENT:
        _CURRENT.append(_Worker(memory_mb))
    return _CURRENT[0]


def _retire() -> None:
    while _CURRENT:
        _CURRENT.pop().stop()


atexit.register(_retire)


def _serve(requests: Connection, answers: Connection, memory_mb: int) -> None:
    """In the worker: limit the address space once, then answer each request with ("ok", text) or
    ("error", (kind, message)) until the pipe closes."""
    limit = memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            target, args = requests.recv()
        except (EOFError, OSError):
            return
        answers.send(_answer(target, args, memory_mb))


def _answer(target: Callable[..., str], args: tuple[Any, ...], memory_mb: int) -> tuple[str, object]:
    try:
        return ("ok", target(*args))
    except ExtractionError as exc:
        return ("error", (exc.kind, str(exc)))
    except MemoryError:
        return ("error", ("too_large", f"reading the file needs more than the limit of {memory_mb} MB of memory: "
                          "split it into smaller files and upload them again"))
    except Exception as exc:  # a reader's bug on a strange file: this process is the boundary
        return ("error", ("unreadable", f"the file could not be read ({type(exc).__name__}: {exc}): "
                          "export it again and upload it"))


def _ready() -> str:
    return "ready"


def _extract(root: str, relpath: str, kwargs: dict[str, Any]) -> str:
    from prescreen.extract import extract_source

    limits = LimitSettings.model_validate(kwargs.pop("limits"))
    if relpath.lower().endswith(".docx"):
        _check_docx(Path(root), relpath, limits)
    return extract_source(Path(root), relpath, limits=limits, **kwargs).model_dump_json()


def _check_docx(root: Path, relpath: str, limits: LimitSettings) -> None:
    """A .docx read through for its real unpacked size before any XML parser sees it (see bundle.check_package)."""
    try:
        check_package(resolve_member(root, relpath), limits)
    except UnsafeArchiveError as exc:
        raise ExtractionError("too_large", f"the Word file is too large once unpacked ({exc}): export it as PDF, "
                              "or split it, and upload it again") from None
    except (BundleError, OSError, zipfile.BadZipFile, ValueError):
        return  # not there, or not a zip: extract_source says so in its own words
