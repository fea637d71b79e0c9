import pytest

from prescreen.locators import describe, parse_locator, parse_locators, seconds


@pytest.mark.parametrize(
    ("text", "kind", "first", "last"),
    [
        ("p. 2", "page", 2, 2),
        ("p.2", "page", 2, 2),
        ("page 7", "page", 7, 7),
        ("pp. 2-3", "page", 2, 3),
        ("pages 4 – 6", "page", 4, 6),
        ("para. 12", "paragraph", 12, 12),
        ("paras. 3-5", "paragraph", 3, 5),
        ("00:04:10", "time", 250, 250),
        ("4:10", "time", 250, 250),
        ("00:04:10-00:05:00", "time", 250, 300),
        ("01:00:00.5", "time", 3600.5, 3600.5),
        # as people write them (bundle spec)
        ("pg. 3", "page", 3, 3),
        ("pg 3", "page", 3, 3),
        ("pp. 3\u20134", "page", 3, 4),
        ("pages 3 to 4", "page", 3, 4),
        ("slide 4", "page", 4, 4),
        ("slides 3-5", "page", 3, 5),
        ("para 12", "paragraph", 12, 12),
        ("paragraph 12", "paragraph", 12, 12),
        ("\u00b6 12", "paragraph", 12, 12),
        ("4:10-5:00", "time", 250, 300),
        ("00:04:10 \u2014 00:05:00", "time", 250, 300),
        ("p. 3 (the table)", "page", 3, 3),
        # the unit run into its number (a new author's bundle, i-prairie-crossing-ms, wrote `p1`)
        ("p1", "page", 1, 1),
        ("pp2-3", "page", 2, 3),
        ("slide4", "page", 4, 4),
        ("para12", "paragraph", 12, 12),
    ],
)
def test_parse_locator(text, kind, first, last):
    loc = parse_locator(text)
    assert (loc.kind, loc.first, loc.last) == (kind, first, last)


@pytest.mark.parametrize(
    ("text", "places"),
    [
        ("p. 3, p. 5", [("page", 3, 3), ("page", 5, 5)]),
        ("pp. 2, 4", [("page", 2, 2), ("page", 4, 4)]),
        ("slide 4 and slide 6", [("page", 4, 4), ("page", 6, 6)]),
        ("paras 3 and 5-6", [("paragraph", 3, 3), ("paragraph", 5, 6)]),
        ("p. 2; 00:01:00", [("page", 2, 2), ("time", 60, 60)]),
    ],
)
def test_listed_locators(text, places):
    assert [(p.kind, p.first, p.last) for p in parse_locators(text)] == places


def test_section_locator_keeps_heading_text():
    loc = parse_locator("§ Monitoring and review")
    assert loc.kind == "section" and loc.section == "Monitoring and review"


@pytest.mark.parametrize("text", ["around the middle", "", "p. x", "pp. 5-2", "see my binder", "whole document", "3",
                                  "part 2", "pizza 3"])
def test_unreadable_locators_raise(text):
    with pytest.raises(ValueError):
        parse_locator(text)


def test_describe_and_seconds():
    assert describe(page=3) == "p. 3"
    assert describe(paragraph_start=2, paragraph_end=4) == "paras. 2-4"
    assert describe(start=65, end=100) == "00:01:05-00:01:40"
    assert seconds("1:02:03,5") == 3723.5
