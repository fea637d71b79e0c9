"""Screening speed and memory on a generated ~40-page bundle in 5 artifacts.

    python benchmarks/screen_bench.py [--pages 40]

Prints: model load time, the extraction worker's start (both once per process), cold screen (empty index,
model loaded), warm re-screen of the unchanged bundle
(same process, and a fresh process through the CLI), embedding-only time for the same chunks, peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import make_bundle  # noqa: E402

from prescreen import sandbox  # noqa: E402
from prescreen.embeddings import LocalEmbeddings  # noqa: E402
from prescreen.pipeline import Screener  # noqa: E402
from prescreen.settings import Settings  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bundle = make_bundle(tmp / "bundle", pages=args.pages)
        settings = Settings(data_dir=tmp / "data")
        embedder = LocalEmbeddings()
        _, load = timed(lambda: embedder.embed_query("warm up"))
        _, worker = timed(lambda: sandbox.warm(settings.limits))
        screener = Screener(settings, embedder=embedder)
        cold, cold_s = timed(lambda: screener.screen(bundle))
        warm, warm_s = timed(lambda: screener.screen(bundle))
        texts = [c.text for c in cold.chunks]
        _, embed_s = timed(lambda: embedder.embed_documents(texts))
        cli_s = fresh_process_rescreen(bundle, settings.data_dir)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bundle: {args.pages} pages in 5 PDFs + 2 parts; {len(cold.chunks)} chunks, {sum(map(len, texts)):,} chars")
    print(f"model load (once per process):      {load:7.2f} s")
    print(f"extraction worker start (once):     {worker:7.2f} s   (fork server and one worker, kept for every file)")
    print(f"cold screen (empty index):          {cold_s:7.2f} s   ({cold.index_stats.embedded} chunks embedded)")
    print(f"warm re-screen, same process:       {warm_s:7.2f} s   ({warm.index_stats.embedded} chunks embedded)")
    print(f"warm re-screen, fresh CLI process:  {cli_s:7.2f} s   (interpreter start and imports included)")
    print(f"embedding only, same chunks:        {embed_s:7.2f} s")
    print(f"cold / embedding-only:              {cold_s / embed_s:7.2f}   (bar: <= 1.5)")
    print(f"warm / cold:                        {warm_s / cold_s:7.1%}   (bar: <= 10%)")
    print(f"peak RSS:                           {peak_mb:7.0f} MB  (bar: <= 1536 MB)")


def fresh_process_rescreen(bundle: Path, data_dir: Path) -> float:
    env = {"PRESCREEN_DATA_DIR": str(data_dir), "PATH": "", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "prescreen.cli", "screen", str(bundle), "--quiet", "--format", "json"],
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
