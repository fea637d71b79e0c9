"""Run one file's extraction in a worker process that is killed when it runs past its time limit.

A hostile or broken file (a pathological PDF, a pattern that backtracks, a zip bomb in disguise) can make a
reader run for minutes or take gigabytes. In a worker, the time limit really stops the work (the process is
killed, not asked to stop), and an address-space limit turns runaway memory into a MemoryError in the worker,
not in the screen. Workers start from a fork server that has imported the readers once, so a worker costs
milliseconds, not an interpreter start.
"""

from __future__ import annotations

import multiprocessing
import resource
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
def _context() -> multiprocessing.context.BaseContext:
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


def run_in_worker(target: Callable[..., str], args: tuple[Any, ...], timeout_s: float, memory_mb: int) -> str:
    """`target(*args)` (a module-level function returning text) in a worker, killed after `timeout_s` seconds.

    ExtractionError raised in the worker comes back as itself; MemoryError and the time limit as too_large."""
    receive, send = _context().Pipe(duplex=False)
    worker = _context().Process(target=_serve, args=(send, target, args, memory_mb), daemon=True)
    worker.start()
    send.close()
    try:
        if not receive.poll(timeout_s):
            raise ExtractionError("too_large", f"reading the file took longer than the limit of {timeout_s:g} s: "
                                  "split it into smaller files, or export it again (e.g. as PDF with a text layer)")
        status, result = receive.recv()
    except EOFError:
        raise ExtractionError("unreadable", "the file's reader stopped without an answer (the file may be "
                              "damaged): export it again and upload it") from None
    finally:
        _stop(worker, receive)
    if status == "error":
        raise ExtractionError(*result)
    return result


def _stop(worker: multiprocessing.process.BaseProcess, receive: Connection) -> None:
    receive.close()
    if worker.is_alive():
        worker.kill()
    worker.join()


def _serve(send: Connection, target: Callable[..., str], args: tuple[Any, ...], memory_mb: int) -> None:
    """In the worker: limit the address space, run, and send back ("ok", text) or ("error", (kind, message))."""
    limit = memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        answer: tuple[str, object] = ("ok", target(*args))
    except ExtractionError as exc:
        answer = ("error", (exc.kind, str(exc)))
    except MemoryError:
        answer = ("error", ("too_large", f"reading the file needs more than the limit of {memory_mb} MB of memory: "
                            "split it into smaller files and upload them again"))
    except Exception as exc:  # a reader's bug on a strange file: this process is the boundary
        answer = ("error", ("unreadable", f"the file could not be read ({type(exc).__name__}: {exc}): "
                            "export it again and upload it"))
    send.send(answer)
    send.close()


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
