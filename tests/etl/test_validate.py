"""Field validation and normalisation rules (etl.validate), one rule per test."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from etl import validate as v
from etl.validate import Invalid, validate_record


def rec(**fields):
    return validate_record({"attack_text": "hello", **fields})


# --------------------------------------------------------------------------------------------- required text


@pytest.mark.parametrize("value", [None, "", "   ", float("nan")])
def test_attack_text_missing_or_empty(value):
    with pytest.raises(Invalid, match="attack_text is missing or empty"):
        validate_record({"attack_text": value})


def test_attack_text_absent_comes_from_first_human_turn():
    r = validate_record({"transcript": "\n\nHuman: first\n\nAssistant: a\n\nHuman: second"})
    assert r.attack_text == "first"
    assert r.n_turns == 2
    assert r.turns == [("human", "first"), ("assistant", "a"), ("human", "second")]


def test_given_attack_text_wins_over_transcript():
    r = validate_record({"attack_text": "mine", "transcript": "\n\nHuman: theirs"})
    assert r.attack_text == "mine"
    assert r.transcript == "\n\nHuman: theirs"  # kept as given, not stripped


def test_transcript_without_human_text_is_rejected():
    with pytest.raises(Invalid, match="no human turn"):
        validate_record({"transcript": "\n\nHuman:\n\nAssistant: hi"})


def test_single_turn_record_turns_from_prompt_and_response():
    r = rec(response="  no  ")
    assert r.turns == [("human", "hello"), ("assistant", "no")]
    assert r.n_turns == 1
    assert r.response == "no"
    assert rec().turns == [("human", "hello")]


@pytest.mark.parametrize("value, kind", [(["a"], "a list"), ({"a": 1}, "an object"), (True, "true (a boolean)")])
def test_text_field_wrong_type(value, kind):
    with pytest.raises(Invalid, match=f"attack_text must be text, got {kind.replace('(', '.').replace(')', '.')}"):
        validate_record({"attack_text": value})


def test_numbers_become_text():
    r = rec(red_team_member_id=7, campaign=2.5, task_description=3.0)
    assert (r.red_team_member_id, r.campaign, r.task_description) == ("7", "2.5", "3")


def test_text_is_stripped_and_nul_removed():
    r = rec(attack_text="  a\x00b  ", model="  m ")
    assert (r.attack_text, r.model) == ("ab", "m")


def test_overlong_text_field_is_rejected():
    with pytest.raises(Invalid, match=r"attack_text is 1,000,001 characters long, over the limit of 1,000,000"):
        validate_record({"attack_text": "x" * 1_000_001})
    assert rec(attack_text="x" * 1_000_000).attack_text == "x" * 1_000_000


# --------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("value, expected", [
    (3, 3.0), (2.5, 2.5), ("3", 3.0), (" 0.5 ", 0.5), ("", None), (None, None),
])
def test_rating_accepted(value, expected):
    assert rec(rating=value).rating == expected


@pytest.mark.parametrize("value, reason", [
    (7, "rating 7.0 is outside 0–4"),
    (-0.5, "rating -0.5 is outside 0–4"),
    ("abc", "rating 'abc' is not a number"),
    (float("nan"), "rating is NaN (not a number)"),
    ("NaN", "rating is NaN (not a number)"),
    (float("inf"), "rating is Infinity"),
    (float("-inf"), "rating is -Infinity"),
    (True, "rating must be a number, got true (a boolean)"),
    ([1], "rating must be a number, got a list"),
    (10**400, "rating is too large to be a number"),
])
def test_rating_rejected_with_reason(value, reason):
    with pytest.raises(Invalid) as info:
        rec(rating=value)
    assert str(info.value) == reason


def test_harmlessness_has_no_range_but_must_be_finite():
    assert rec(harmlessness=-12.5).harmlessness == -12.5
    with pytest.raises(Invalid, match="harmlessness is Infinity"):
        rec(harmlessness=math.inf)


# --------------------------------------------------------------------------------------------- success


@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), (1, True), (0, False), (1.0, True), ("1", True), ("0", False),
    ("TRUE", True), ("false", False), ("Yes", True), ("no", False), ("y", True), ("N", False), ("", None),
])
def test_success_values(value, expected):
    r = rec(success=value)
    assert r.success is expected
    assert r.given_success is expected


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, ["yes"]])
def test_success_rejected(value):
    with pytest.raises(Invalid, match="success"):
        rec(success=value)


def test_success_from_rating_and_threshold():
    assert rec(rating=3.0).success is True
    assert rec(rating=2.9).success is False
    assert validate_record({"attack_text": "a", "rating": 2.0}, success_threshold=2.0).success is True
    assert rec().success is None
    assert rec(rating=4.0, success="no").success is False  # the input's own value wins


# --------------------------------------------------------------------------------------------- tags, dates


@pytest.mark.parametrize("value, expected", [
    (None, None),
    (["theft", " weapons "], ["theft", "weapons"]),
    ("theft, weapons;fraud | other", ["theft", "weapons", "fraud", "other"]),
    ('["a, b", "c"]', ["a, b", "c"]),
    ([None, "x", 3], ["x", "3"]),
    ("", None),
    ([], []),
])
def test_tags(value, expected):
    assert rec(tags=value).tags == expected


def test_tags_nested_list_rejected():
    with pytest.raises(Invalid, match="tags must be a list of text"):
        rec(tags=[["a"]])


@pytest.mark.parametrize("value, expected", [
    ("2022-08-22", datetime(2022, 8, 22)),
    ("2022-08-22T14:03:00Z", datetime(2022, 8, 22, 14, 3)),
    ("2022-08-22T16:03:00+02:00", datetime(2022, 8, 22, 14, 3)),
    (date(2022, 8, 22), datetime(2022, 8, 22)),
    (datetime(2022, 8, 22, 14, 3, tzinfo=UTC), datetime(2022, 8, 22, 14, 3)),
    (1661176980, datetime(2022, 8, 22, 14, 3)),
    (1661176980000, datetime(2022, 8, 22, 14, 3)),
])
def test_created_at(value, expected):
    assert rec(created_at=value).created_at == expected


@pytest.mark.parametrize("value", ["yesterday", "22/08/2022", True, 1e300])
def test_created_at_rejected(value):
    with pytest.raises(Invalid, match="created_at"):
        rec(created_at=value)


# --------------------------------------------------------------------------------------------- model and size


@pytest.mark.parametrize("text, expected", [
    ("52B", 52.0), ("2.7B", 2.7), ("13b", 13.0), ("350M", 0.35), ("13", 13.0), ("7000000000", 7.0),
    ("1.5T", 1500.0), ("big", None), ("", None), ("9" * 400 + "B", None),
])
def test_parse_size(text, expected):
    assert v.parse_size(text) == pytest.approx(expected) if expected is not None else v.parse_size(text) is None


@pytest.mark.parametrize("model, size, size_b", [
    ("llama-2-13b-chat", "13B", 13.0),
    ("gpt-neo-2.7B", "2.7B", 2.7),
    ("Llama-3.1-70B-Instruct", "70B", 70.0),
    ("mistral_7b", "7B", 7.0),
    ("pythia-160m", "160M", 0.16),
    ("Mixtral-8x7B", None, None),
    ("claude-3-opus", None, None),
    ("gpt2", None, None),
])
def test_size_from_model_name(model, size, size_b):
    r = rec(model=model)
    assert r.model == model
    assert r.model_size == size
    assert r.model_size_b == (pytest.approx(size_b) if size_b is not None else None)


def test_model_from_type_and_size_like_the_anthropic_file():
    r = rec(model_type="rlhf", model_size="52B")
    assert (r.model, r.model_size, r.model_size_b) == ("rlhf 52B", "52B", 52.0)


def test_unknown_model_type_and_size_kept_as_given():
    r = rec(model_type="Constitutional AI v9", model_size="huge")
    assert (r.model_type, r.model_size, r.model_size_b, r.model) == (
        "Constitutional AI v9", "huge", None, "Constitutional AI v9 huge")


# --------------------------------------------------------------------------------------------- ids


def test_attack_key_is_stable_and_content_sensitive():
    a = rec(rating=3, model="m")
    assert v.attack_key("d", a) == v.attack_key("d", rec(rating="3.0", model=" m "))
    assert len(v.attack_key("d", a)) == 16
    assert v.attack_key("d", a) != v.attack_key("other", a)
    assert v.attack_key("d", a) != v.attack_key("d", rec(rating=2, model="m"))
    assert v.attack_key("d", a) != v.attack_key("d", rec(rating=3, model="m", campaign="c"))


def test_attack_key_ignores_the_success_threshold():
    a = validate_record({"attack_text": "x", "rating": 2.5}, success_threshold=2.0)
    b = validate_record({"attack_text": "x", "rating": 2.5}, success_threshold=3.0)
    assert a.success != b.success
    assert v.attack_key("d", a) == v.attack_key("d", b)


def test_attack_key_field_boundaries_are_unambiguous():
    key = v.attack_key
    assert key("d", rec(attack_text="ab", campaign="c")) != key("d", rec(attack_text="a", campaign="bc"))
    assert key("d", rec(attack_text="a", campaign=None)) != key("d", rec(attack_text="a", campaign="-"))


def test_fix_surrogates_and_excerpt():
    fixed = v.fix_surrogates({"a": ["x\ud800y", {"b": "\udfff"}], "n": 1})
    assert fixed == {"a": ["x\ufffdy", {"b": "\ufffd"}], "n": 1}
    assert v.excerpt("a\x00" + "b" * 600) == "a" + "b" * 498  # cut to 500, then cleaned
    assert v.excerpt(None) is None
