"""Every regular expression that reads untrusted text, against pathological input: none may backtrack into a hang.

The patterns are collected from the modules' globals, so a new one cannot slip by untested. Each runs on long
runs of the characters patterns usually repeat over (letters, spaces, backticks, digits, punctuation, line
breaks) in a child process; the test asserts the child finishes, which a catastrophic pattern on 20,000
characters never does (the old inline-code pattern took 25 s on 12,000 backticks).
"""

from __future__ import annotations

import importlib
import multiprocessing
import re

MODULES = ["prescreen.extract", "prescreen.checks", "prescreen.canon", "prescreen.locators", "prescreen.textutil",
           "prescreen.evidence_model", "prescreen.drafting", "prescreen.verify", "prescreen.wordcount",
           "prescreen.bundle", "prescreen.llm"]
UNITS = ["a", " ", "`", "*", "_", "-", "|", "1", ":", ".", "\n", "a ", "a\n", "ab1 ", "ignore ", "we ", "p. 1, ",
         "1:1", "--> ", "# ", "\\", "'", "\u200b", "\u0430"]
SIZE = 20_000


def patterns() -> list[tuple[str, re.Pattern]]:
    found: dict[int, tuple[str, re.Pattern]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            for pattern in _patterns_in(value):
                found.setdefault(id(pattern), (f"{name}.{attr}", pattern))
    return list(found.values())


def _patterns_in(value, depth: int = 0):
    if isinstance(value, re.Pattern):
        yield value
    elif depth < 2 and isinstance(value, list | tuple | dict):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _patterns_in(item, depth + 1)


def run_all(queue) -> None:
    for _, pattern in patterns():
        for unit in UNITS:
            text = unit * (SIZE // len(unit))
            pattern.search(text)
            pattern.search(text + "!")  # a mismatch at the very end is where backtracking explodes
    queue.put("done")


def test_the_patterns_are_found():
    names = {name for name, _ in patterns()}
    assert len(names) > 20 and "prescreen.textutil._SENTENCE_END" in names


def test_no_pattern_hangs_on_pathological_input():
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=run_all, args=(queue,))
    child.start()
    child.join(240)  # generous: linear patterns take well under a second here; a catastrophic one never ends
    hung = child.is_alive()
    if hung:
        child.kill()
    assert not hung and queue.get(timeout=5) == "done"
