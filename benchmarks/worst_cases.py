"""The worst bundles we know of, generated here (nothing large is checked in): time and peak memory of each.

    python benchmarks/worst_cases.py [--embedder local|fake] [--case NAME ...]

Each case runs in a fresh process. Printed per case: wall time, the screening process's peak RSS, the largest
extraction worker's peak RSS (workers run one at a time), and how the bundle came out (readiness, too_large
problems). Bar: 60 s and 1.5 GB for any single bundle.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import paragraph, write_pdf  # noqa: E402

MIB = 1024 * 1024
BASE = {"format": 1, "submission_id": "S-WORST", "credential": "leading-an-equitable-learning-culture",
        "parts": {"overview": "overview.md", "reflection": "reflection.md"}}


# ---------------------------------------------------------------- the cases: each writes its files into a bundle


def docx_bomb(root: Path) -> list[tuple[str, str]]:
    """A Word file of well under 1 MB whose document.xml unpacks to 280 MB of short paragraphs."""
    import docx

    plain = root / "plain.docx"
    docx.Document().save(str(plain))
    paragraph = b"<w:p><w:r><w:t>" + b"We met with families about attendance. " * 3 + b"</w:t></w:r></w:p>"
    with (
        zipfile.ZipFile(plain) as src,
        zipfile.ZipFile(root / "artifacts" / "plan.docx", "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for info in src.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, src.read(info))
                continue
            head, tail = src.read(info).split(b"<w:body>", 1)
            with out.open(info.filename, "w") as body:  # streamed: the 280 MB never sit in memory
                body.write(head + b"<w:body>")
                for _ in range(280 * MIB // (len(paragraph) * 1000)):
                    body.write(paragraph * 1000)
                body.write(tail)
    plain.unlink()
    return [("A1", "artifacts/plan.docx")]


def big_text(root: Path) -> list[tuple[str, str]]:
    """A 24 MB text file (the file limit is 25 MB)."""
    rng = random.Random(1)
    with open(root / "artifacts" / "notes.txt", "w") as out:
        while out.tell() < 24 * MIB:
            out.write(paragraph(rng) + "\n\n")
    return [("A1", "artifacts/notes.txt")]


def backticks(root: Path) -> list[tuple[str, str]]:
    """Markdown with one 64 KB line of backticks."""
    (root / "artifacts" / "code.md").write_text("Intro paragraph.\n\n" + "`" * 65536 + "\n")
    return [("A1", "artifacts/code.md")]


def one_pdf_200_times(root: Path) -> list[tuple[str, str]]:
    """200 artifacts that all name one 30-page PDF."""
    write_pdf(root / "artifacts" / "audit.pdf", 30, random.Random(2))
    return [(f"A{i}", "artifacts/audit.pdf") for i in range(1, 201)]


def pdf_pages(pages: int):
    def case(root: Path) -> list[tuple[str, str]]:
        write_pdf(root / "artifacts" / "long.pdf", pages, random.Random(3))
        return [("A1", "artifacts/long.pdf")]

    case.__doc__ = f"A {pages:,}-page PDF."
    return case


CASES = {"docx-bomb": docx_bomb, "24mb-text": big_text, "64kb-backticks": backticks,
         "200-artifacts-one-pdf": one_pdf_200_times, "150-page-pdf": pdf_pages(150), "1000-page-pdf": pdf_pages(1000),
         "2000-page-pdf": pdf_pages(2000)}  # 150 dense pages: about the largest PDF under the budgets


def build(name: str, root: Path) -> Path:
    (root / "artifacts").mkdir(parents=True)
    artifacts = CASES[name](root)
    rng = random.Random(4)
    for part in ("overview.md", "reflection.md"):
        (root / part).write_text("\n\n".join(paragraph(rng) for _ in range(20)))
    manifest = BASE | {"artifacts": [{"id": aid, "file": path} for aid, path in artifacts]}
    (root / "submission.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return root


# ---------------------------------------------------------------- one case, in this process


class WorkerPeak(threading.Thread):
    """Polls /proc for this process's descendants and keeps the largest VmHWM (peak RSS) seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_kb = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            for pid in _descendants(os.getpid()):
                self.peak_kb = max(self.peak_kb, _vm_hwm_kb(pid))
            time.sleep(0.05)


def _descendants(root: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _vm_hwm_kb(pid: int) -> int:
    try:
        line = next(s for s in Path(f"/proc/{pid}/status").read_text().splitlines() if s.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return 0
    return int(line.split()[1])


def run_case(name: str, bundle: Path, embedder_kind: str) -> dict:
    """Screen the bundle `build` made; the building happened in another process, so its memory is not counted."""
    from prescreen.pipeline import Screener
    from prescreen.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        embedder = _embedder(embedder_kind)
        embedder.embed_query("warm up")  # model load is not part of the case
        screener = Screener(Settings(data_dir=Path(tmp) / "data"), embedder=embedder)
        watcher = WorkerPeak()
        watcher.start()
        start = time.perf_counter()
        report = screener.screen(bundle).report
        seconds = time.perf_counter() - start
        watcher.running = False
    too_large = sorted({p.file for p in report.problems if p.kind == "too_large"})
    return {"case": name, "seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "worker_peak_mb": watcher.peak_kb / 1024, "readiness": report.readiness,
            "too_large": f"{len(too_large)} file(s)" if len(too_large) > 3 else ", ".join(too_large) or "-"}


def _embedder(kind: str):
    if kind == "fake":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.fakes import StemHashEmbeddings

        return StemHashEmbeddings()
    from prescreen.embeddings import LocalEmbeddings

    return LocalEmbeddings()


# ---------------------------------------------------------------- all cases, each in a fresh process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--embedder", choices=["local", "fake"], default="local",
                        help="local: the packaged model (what users run); "
                        "fake: hashed stems, to time all but embedding")
    parser.add_argument("--case", action="append", choices=list(CASES), help="run only these (default: all)")
    parser.add_argument("--build", nargs=2, help=argparse.SUPPRESS)  # internal: NAME DIR, build one bundle
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # internal: NAME DIR, screen it, print JSON
    args = parser.parse_args()
    if args.build:
        build(args.build[0], Path(args.build[1]))
        return
    if args.one:
        print(json.dumps(run_case(args.one[0], Path(args.one[1]), args.embedder)))
        return
    print(f"{'case':24} {'time':>8} {'peak RSS':>9} {'worker':>8}  readiness     too_large")
    for name in args.case or CASES:
        r = _measure(name, args.embedder)
        if isinstance(r, str):
            print(f"{name:24} failed: {r}")
            continue
        flag = " *" if r["seconds"] > 60 or r["peak_mb"] + r["worker_peak_mb"] > 1536 else ""
        print(f"{name:24} {r['seconds']:7.1f}s {r['peak_mb']:7.0f}MB {r['worker_peak_mb']:6.0f}MB  "
              f"{r['readiness']:13} {r['too_large']}{flag}")
    print("* over the bar (60 s, 1.5 GB for the screen and its worker together)")


def _measure(name: str, embedder: str) -> dict | str:
    """Build the case's bundle in one fresh process, screen it in another; the result, or why it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        bundle = str(Path(tmp) / "bundle")
        for step in (["--build", name, bundle], ["--one", name, bundle, "--embedder", embedder]):
            out = subprocess.run([sys.executable, __file__, *step], capture_output=True, text=True)
            if out.returncode:
                return " ".join(out.stderr.strip().splitlines()[-1:])
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
