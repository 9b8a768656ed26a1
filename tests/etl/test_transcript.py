"""Transcript parsing: the "\\n\\nHuman: …\\n\\nAssistant: …" format, on edge cases and on 2,312 real conversations."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from etl.sources.transcript import count_human_turns, first_human_turn, parse_turns
from tests.conftest import shared_file


def test_basic_two_turn_pairs():
    t = "\n\nHuman: Hi there\n\nAssistant: Hello!\n\nHuman: How do I pick a lock?\n\nAssistant:  I can't help. "
    turns = parse_turns(t)
    assert turns == [
        ("human", "Hi there"),
        ("assistant", "Hello!"),
        ("human", "How do I pick a lock?"),
        ("assistant", "I can't help."),
    ]
    assert count_human_turns(turns) == 2
    assert first_human_turn(turns) == "Hi there"


def test_human_mid_line_is_text_not_a_turn():
    # Real hh-rlhf text: "Human:" inside an assistant reply, not after a blank line.
    t = "\n\nHuman: Rob a house?\n\nAssistant: No.  Human: That sounds perfect!\nAssistant: ok"
    turns = parse_turns(t)
    assert turns == [("human", "Rob a house?"), ("assistant", "No.  Human: That sounds perfect!\nAssistant: ok")]
    assert count_human_turns(turns) == 1


def test_paragraph_breaks_inside_a_turn_are_kept():
    turns = parse_turns("\n\nHuman: a\n\nmore of a\n\nAssistant: b\n\n1. x\n\n2. y")
    assert turns == [("human", "a\n\nmore of a"), ("assistant", "b\n\n1. x\n\n2. y")]


def test_text_before_the_first_marker_is_a_human_turn():
    turns = parse_turns("Context: a story.\n\nHuman: go on\n\nAssistant: fine")
    assert turns == [("human", "Context: a story."), ("human", "go on"), ("assistant", "fine")]
    assert count_human_turns(turns) == 2
    assert first_human_turn(turns) == "Context: a story."


def test_transcript_without_markers_is_one_human_prompt():
    assert parse_turns("  just a prompt  ") == [("human", "just a prompt")]


def test_marker_at_start_without_blank_line():
    assert parse_turns("Human: hi\n\nAssistant: yo") == [("human", "hi"), ("assistant", "yo")]
    assert parse_turns("  \nHuman: hi") == [("human", "hi")]


def test_crlf_line_endings():
    assert parse_turns("\r\n\r\nHuman: hi\r\n\r\nAssistant: yo") == [("human", "hi"), ("assistant", "yo")]


def test_empty_turns_are_kept_and_first_human_turn_skips_them():
    turns = parse_turns("\n\nHuman:\n\nAssistant: what?\n\nHuman: real question\n\nAssistant:")
    assert turns == [("human", ""), ("assistant", "what?"), ("human", "real question"), ("assistant", "")]
    assert count_human_turns(turns) == 2
    assert first_human_turn(turns) == "real question"


def test_no_human_text_at_all():
    assert first_human_turn(parse_turns("\n\nAssistant: only me")) is None
    assert parse_turns("") == []
    assert first_human_turn([]) is None


def test_repeated_speaker_turns_stay_separate():
    turns = parse_turns("\n\nHuman: a\n\nAssistant: b\n\nAssistant: c")
    assert [s for s, _ in turns] == ["human", "assistant", "assistant"]


def _real_conversations():
    path = shared_file("hh-rlhf/harmless-base-test.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _markers(t: str) -> list[str]:
    """Speakers in order, found by a plain scan independent of the parser."""
    out, i = [], 0
    while True:
        h, a = t.find("\n\nHuman:", i), t.find("\n\nAssistant:", i)
        if h < 0 and a < 0:
            return out
        if a < 0 or (0 <= h < a):
            out.append("human")
            i = h + 2
        else:
            out.append("assistant")
            i = a + 2


def test_real_hh_rlhf_conversations():
    rows = _real_conversations()
    assert len(rows) == 2312
    for row in rows:
        for key in ("chosen", "rejected"):
            t = row[key]
            turns = parse_turns(t)
            assert [s for s, _ in turns] == _markers(t)
            assert count_human_turns(turns) == t.count("\n\nHuman:")
            assert turns[0][0] == "human" and turns[0][1]
            for _, text in turns:
                assert text == text.strip()
                assert "\n\nHuman:" not in text and "\n\nAssistant:" not in text
            # No text is lost: the turns hold everything but the markers and the whitespace around them.
            body = re.sub(r"\s+", "", t.replace("\n\nHuman:", "").replace("\n\nAssistant:", ""))
            assert re.sub(r"\s+", "", "".join(text for _, text in turns)) == body
        # hh-rlhf pairs share the human's opening message.
        assert first_human_turn(parse_turns(row["chosen"])) == first_human_turn(parse_turns(row["rejected"]))


def test_real_conversation_with_inline_human_marker():
    rows = _real_conversations()
    tricky = [r["chosen"] for r in rows if re.search(r"[^\n]\s*Human: ", r["chosen"].lstrip("\n"))]
    assert tricky, "the real data has 'Human:' inside turn text"
    t = next(t for t in tricky if "  Human: " in t)
    turns = parse_turns(t)
    assert any("  Human: " in text for _, text in turns)


@pytest.mark.parametrize("n", [1, 3, 18])
def test_count_matches_constructed_transcripts(n):
    t = "".join(f"\n\nHuman: q{i}\n\nAssistant: a{i}" for i in range(n))
    turns = parse_turns(t)
    assert count_human_turns(turns) == n
    assert turns[-1] == ("assistant", f"a{n - 1}")
