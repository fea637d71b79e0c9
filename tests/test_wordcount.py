import pytest

from prescreen.wordcount import count_words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("one two  three\nfour", 4),
        ("# Heading words\n\n- item one\n* item two\n| a | b |", 8),
        ("A dash — between, and 42% of 3rd-graders.", 7),
        ("**bold** _it_ `code` [link](http://x.org)", 4),
        ("... --- *** ###", 0),
        ("équité für alle", 3),
    ],
)
def test_words_by_the_spec_rule(text, expected):
    assert count_words(text) == expected
