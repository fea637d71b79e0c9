import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from prescreen.cli import main
from prescreen.errors import RubricError, UnknownRubricError
from prescreen.rubrics import SHIPPED_RUBRICS, RubricLibrary, load_rubric

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "rubric-leading-an-equitable-learning-culture.md"

GOOD = """\
id: tiny
title: Tiny
version: "1"
parts:
  - {id: essay, title: Essay, minimum_words: 10}
outcomes:
  - id: O1
    title: First
    details:
      - {id: O1.1, text: Does a thing}
"""


def test_shipped_rubrics_load_and_differ_in_shape():
    rubrics = RubricLibrary().all()
    equity = rubrics["leading-an-equitable-learning-culture"]
    el = rubrics["el-education-leadership-core-practices"]
    assert len(equity.outcomes) == 4 and len(equity.details) == 12
    assert len(el.outcomes) == 6 and len(el.details) == 26
    assert {p.id for p in el.text_parts} != {p.id for p in equity.text_parts}
    assert {p.id: p.minimum_words for p in equity.text_parts} == {"overview": 1000, "reflection": 500}


@pytest.mark.skipif(not SPEC.exists(), reason="shared/spec is not beside this checkout")
def test_equity_rubric_ids_are_exactly_the_specs():
    spec_ids = re.findall(r"^- (EO\d\.\d) ", SPEC.read_text(), flags=re.M)
    rubric = RubricLibrary().get("leading-an-equitable-learning-culture")
    assert [d.id for d in rubric.details] == spec_ids


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    return path


def test_duplicate_detail_id_names_the_file(tmp_path):
    bad = GOOD.replace(
        "      - {id: O1.1, text: Does a thing}", "      - {id: O1.1, text: A}\n      - {id: O1.1, text: B}"
    )
    with pytest.raises(RubricError, match=r"r\.yaml.*duplicate id 'O1\.1'"):
        load_rubric(_write(tmp_path, bad))


def test_empty_details_names_the_place_and_line(tmp_path):
    bad = GOOD.replace("    details:\n      - {id: O1.1, text: Does a thing}", "    details: []")
    with pytest.raises(RubricError, match=r"r\.yaml line 9: outcomes\[0\]\.details"):
        load_rubric(_write(tmp_path, bad))


def test_unknown_part_kind_and_unknown_keys_are_errors(tmp_path):
    bad = GOOD.replace("minimum_words: 10", "minimum_words: 10, kind: video")
    bad = bad.replace("title: First", "title: First\n    weight: 3")
    with pytest.raises(RubricError) as err:
        load_rubric(_write(tmp_path, bad))
    assert "parts[0].kind" in str(err.value) and "outcomes[0].weight" in str(err.value)


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(RubricError, match=r"line \d+: not valid YAML"):
        load_rubric(_write(tmp_path, "id: x\ntitle: [unclosed\n"))


def test_unknown_rubric_lists_known(tmp_path):
    with pytest.raises(UnknownRubricError, match="leading-an-equitable-learning-culture"):
        RubricLibrary().get("nope")


def test_extra_rubric_folder(tmp_path):
    _write(tmp_path, GOOD)
    assert RubricLibrary(tmp_path).get("tiny").details[0].id == "O1.1"


def test_cli_validate(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(main, ["rubrics", "validate", *map(str, sorted(SHIPPED_RUBRICS.glob("*.yaml")))])
    assert ok.exit_code == 0 and ok.output.count(": ok") == 2
    bad = runner.invoke(main, ["rubrics", "validate", str(_write(tmp_path, GOOD.replace("id: O1.1", "id: O1")))])
    assert bad.exit_code == 2 and "duplicate id 'O1'" in bad.output
    assert "Traceback" not in bad.output
