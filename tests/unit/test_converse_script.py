"""The BotiumScript reader and matcher (mock_server/converse/script.py); the player is tested
against real bots in tests/clients/test_converse.py."""

from __future__ import annotations

import pytest

from mock_server.converse.script import (
    BOT,
    ME,
    PRIVATE,
    THREAD,
    Expectation,
    ScriptError,
    expand,
    parse_convo,
    parse_utterances,
    substitute,
)

CONVO = """Order flow
Someone orders; the bot confirms.

#me bob #dev thread
order a
  pizza

#bot #acme/dev
!Sorry*

#me private
GREETING

#bot private
GREETING
"""


def test_parse__name_description_headers_and_multi_line_text() -> None:
    convo = parse_convo(CONVO, "orders/x.convo.txt")
    assert convo.name == "Order flow" and convo.description == "Someone orders; the bot confirms."
    me, bot, private, answer = convo.steps
    assert (me.kind, me.line, me.nick, me.flow, me.where, me.text) == (
        ME,
        4,
        "bob",
        "dev",
        THREAD,
        "order a\n  pizza",
    )
    assert (bot.kind, bot.flow, bot.negate, bot.text) == (BOT, "acme/dev", True, "Sorry*")
    assert (private.where, private.nick, answer.where) == (PRIVATE, None, PRIVATE)
    assert me.header == "#me bob #dev thread"


def test_parse__no_name_line_takes_the_file_name_and_crlf_is_read() -> None:
    convo = parse_convo("#me\r\nhi\r\n#bot\r\nhello\r\n", "dir/greet.convo.txt")
    assert convo.name == "greet" and [s.text for s in convo.steps] == ["hi", "hello"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("x\n#me\n\n#bot\nhi", 2, "#me has no text to say"),
        ("x\n#begin\nfoo", 2, "#begin is not a section this player knows"),
        ("x\n#me bob alice\nhi", 2, "'alice' is not understood"),
        ("x\n#me private #dev\nhi", 2, "a private message has no flow"),
        ("x\n#me\nhi\n#bot\n/(unclosed/", 4, "is not a valid regular expression"),
        ("just a name", 0, "has no #me or #bot section"),
    ],
)
def test_parse__what_cannot_be_played_is_refused_with_its_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError) as bad:
        parse_convo(text, "c.convo.txt")
    assert bad.value.line == line and message in bad.value.message


def test_utterances__name_line_then_variants() -> None:
    assert parse_utterances("GREETING\nhello\n\nhi there\n") == ("GREETING", ("hello", "hi there"))
    with pytest.raises(ScriptError, match="has no variants"):
        parse_utterances("GREETING\n")


def test_expand__one_run_per_combination_of_me_variants_bot_accepts_any() -> None:
    convo = parse_convo("c\n#me\nHI\n#bot\nHI\n#me\nBYE\n#bot\nok", "c.convo.txt")
    runs = expand(convo, {"HI": ("hello", "hey"), "BYE": ("bye", "ciao", "later")})
    assert len(runs) == 6
    first = runs[0]
    assert first.variant == {"HI": "hello", "BYE": "bye"} and first.name == "c [HI='hello', BYE='bye']"
    assert [s.text for s in first.steps if s.kind == ME] == ["hello", "bye"]
    assert first.steps[1].variants == ("hello", "hey")
    assert expand(parse_convo("c\n#me\nplain\n#bot\nok", "c"), {"HI": ("a",)})[0].variant == {}


def test_expand__too_many_runs_is_refused() -> None:
    convo = parse_convo("c\n#me\nA\n#me\nB\n#me\nC", "c")
    many = tuple(str(n) for n in range(5))
    with pytest.raises(ScriptError, match="expand into 125 runs"):
        expand(convo, {"A": many, "B": many, "C": many})


@pytest.mark.parametrize(
    ("expected", "said", "captured"),
    [
        ("PONG", "PONG", {}),
        ("PONG", " PONG\n", {}),  # surrounding whitespace is not part of the text
        ("PONG", "PONG!", None),  # exact: nothing more
        ("deploying *", "deploying api #deploy", {}),
        ("*api*", "deploying api #deploy", {}),  # contains
        (r"a \* b", "a * b", {}),
        (r"a \* b", "a x b", None),
        ("costs \\$5", "costs $5", {}),
        ("/^deploy(ing)? api$/", "deploying api", {}),
        ("/PONG/i", "well, pong", {}),  # a regex is searched
        ("/(?P<n>\\d+) left/", "3 left", {"n": "3"}),
        ("Order #$number: pizza", "Order #100: pizza", {"number": "100"}),
        ("$a and $a", "x and x", {"a": "x"}),
        ("$a and $a", "x and y", None),
    ],
)
def test_expectation__exact_wildcard_regex_and_captures(
    expected: str, said: str, captured: dict[str, str] | None
) -> None:
    assert Expectation(expected, {}).match(said) == captured


def test_expectation__a_known_capture_must_be_said_again_literally() -> None:
    assert (
        Expectation("Order #$number is on its way", {"number": "1.0"}).match("Order #1.0 is on its way") == {}
    )
    assert (
        Expectation("Order #$number is on its way", {"number": "1.0"}).match("Order #120 is on its way")
        is None
    )
    assert Expectation("/#$number\\b/", {"number": "1.0"}).match("#1x0") is None  # escaped in a regex too


def test_substitute__captures_into_me_lines_and_reports_unknown_names() -> None:
    assert substitute("status of $number, \\$5", {"number": "100"}) == ("status of 100, $5", [])
    assert substitute("hi $who", {}) == ("hi $who", ["who"])
