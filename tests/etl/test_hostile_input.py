"""Hostile and broken input: every record ends up loaded or rejected with a reason, nothing crashes.

The last tests are hypothesis properties over random and mutated files through every reader.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.errors import UserError
from etl.sources import files, load


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def check_invariants(got) -> None:
    """Per file n_read = n_loaded + n_rejected, frames agree with the counts, every rejection has a reason."""
    for s in got.inputs:
        assert s.n_read == s.n_loaded + s.n_rejected
        assert got.attacks.filter(pl.col("source_file") == s.path).height == s.n_loaded
        assert got.rejected.filter(pl.col("source_file") == s.path).height == s.n_rejected
        assert 0 <= s.n_duplicates <= s.n_loaded
    assert got.attacks.height == sum(s.n_loaded for s in got.inputs)
    assert got.rejected.height == sum(s.n_rejected for s in got.inputs)
    assert got.attacks["attack_id"].n_unique() == got.attacks.height
    assert got.attacks["attack_text"].null_count() == 0
    assert all(r and r.strip() for r in got.rejected["reason"].to_list())
    assert all(x is None or len(x) <= 500 for x in got.rejected["raw_excerpt"].to_list())
    rows = got.rejected["source_row"].drop_nulls().to_list() + got.attacks["source_row"].to_list()
    assert all(r >= 0 for r in rows)


def loaded(path: Path, **kw):
    got = load([path], progress=False, **kw)
    check_invariants(got)
    return got


def reasons(got) -> list[tuple[int | None, str]]:
    return got.rejected.select("source_row", "reason").rows()


# --------------------------------------------------------------------------------------------- JSON Lines


def test_jsonl_with_one_bad_line(tmp_path):
    bad = '{"attack_text": "b" "rating": 1}'
    try:
        json.loads(bad)
    except json.JSONDecodeError as exc:
        expected = f"line 2 is not valid JSON: {exc.msg} at column {exc.colno}"
    path = write(tmp_path / "x.jsonl", '{"attack_text": "a"}\n' + bad + '\n\n{"attack_text": "c"}\n')
    got = loaded(path)
    s = got.inputs[0]
    assert (s.n_read, s.n_loaded, s.n_rejected) == (3, 2, 1)
    assert expected == "line 2 is not valid JSON: Expecting ',' delimiter at column 21"
    assert reasons(got) == [(1, expected)]
    assert got.rejected["raw_excerpt"].to_list() == [bad]
    assert got.attacks["source_row"].to_list() == [0, 2]  # blank lines are not records


def test_wrong_types_and_missing_required_fields(tmp_path):
    lines = [
        {"attack_text": 42},  # a number becomes text
        {"attack_text": {"text": "x"}},
        {"attack_text": "ok", "rating": "abc"},
        {"attack_text": "ok", "rating": "3"},
        {"attack_text": "ok", "success": "maybe"},
        {"attack_text": "ok", "tags": {"a": 1}},
        {"attack_text": "ok", "is_upworker": [True]},
        {"rating": 2},
        {"attack_text": "   "},
        {"attack_text": None},
        "just text",
        [1, 2],
        None,
    ]
    path = write(tmp_path / "x.jsonl", "".join(json.dumps(x) + "\n" for x in lines))
    got = loaded(path)
    assert got.attacks.select("source_row", "attack_text", "rating").rows() == [(0, "42", None), (3, "ok", 3.0)]
    assert reasons(got) == [
        (1, "attack_text must be text, got an object"),
        (2, "rating 'abc' is not a number"),
        (4, "success 'maybe' is not a yes/no value (use true/false, 1/0 or yes/no)"),
        (5, "tags must be a list or text, got an object"),
        (6, "is_upworker must be a yes/no value, got a list"),
        (7, "attack_text is missing or empty"),
        (8, "attack_text is missing or empty"),
        (9, "attack_text is missing or empty"),
        (10, "record is not a JSON object (it is text)"),
        (11, "record is not a JSON object (it is a list)"),
        (12, "record is not a JSON object (it is null)"),
    ]


def test_nan_infinity_and_out_of_range(tmp_path):
    text = ('{"attack_text": "a", "rating": NaN}\n{"attack_text": "b", "rating": Infinity}\n'
            '{"attack_text": "c", "harmlessness": -Infinity}\n{"attack_text": "d", "rating": 4.01}\n'
            '{"attack_text": "e", "rating": 1e999}\n{"attack_text": "f", "rating": 0}\n')
    got = loaded(write(tmp_path / "n.jsonl", text))
    assert reasons(got) == [(0, "rating is NaN (not a number)"), (1, "rating is Infinity"),
                            (2, "harmlessness is -Infinity"), (3, "rating 4.01 is outside 0–4"),
                            (4, "rating is Infinity")]
    assert got.attacks["attack_text"].to_list() == ["f"]


def test_duplicate_keys_last_wins(tmp_path):
    text = '{"attack_text": "first", "attack_text": "last", "rating": 1, "rating": 2}'
    got = loaded(write(tmp_path / "d.jsonl", text))
    assert got.attacks.select("attack_text", "rating").row(0) == ("last", 2.0)


@pytest.mark.parametrize("name, wrap", [("deep.jsonl", lambda r: "\n".join(r) + "\n"),
                                        ("deep.json", lambda r: "[" + ",\n".join(r) + "]")])
def test_deep_nesting_rejects_the_record_only(tmp_path, name, wrap):
    deep = '{"attack_text": "deep", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    deeper = '{"attack_text": "deeper", "x": ' + '{"a": ' * 100_000 + "1" + "}" * 100_000 + "}"
    got = loaded(write(tmp_path / name, wrap(['{"attack_text": "a"}', deep, deeper, '{"attack_text": "b"}'])))
    assert got.attacks["attack_text"].to_list() == ["a", "b"]
    assert [row for row, _ in reasons(got)] == [1, 2]
    assert all("nested too deeply" in reason for _, reason in reasons(got))


def test_huge_integer_rejects_the_record(tmp_path):
    text = '[{"attack_text": "a", "rating": ' + "9" * 5000 + '}, {"attack_text": "b"}]'
    got = loaded(write(tmp_path / "i.json", text))
    assert got.attacks["attack_text"].to_list() == ["b"]
    assert "4300 digits" in reasons(got)[0][1]


def test_ten_megabyte_field_is_rejected_with_a_reason(tmp_path):
    big = "x" * (10 * 1024 * 1024)
    got = loaded(write(tmp_path / "b.jsonl", json.dumps({"attack_text": big}) + '\n{"attack_text": "small"}\n'))
    assert reasons(got) == [(0, ("attack_text is 10,485,760 characters long, over the limit of 1,000,000 "
                                 "(often an unbalanced quote in a CSV file)"))]
    assert len(got.rejected["raw_excerpt"][0]) == 500
    got = loaded(write(tmp_path / "b.csv", f'attack_text,campaign\nsmall,"{big}"\n'))
    assert reasons(got)[0][1].startswith("campaign is 10,485,760 characters long")


def test_pretty_printed_objects_in_a_jsonl_file(tmp_path):
    text = '{"attack_text": "a"}\n{\n  "attack_text": "pretty",\n  "tags": ["x",\n  "y"]\n}\n{"attack_text": "c"\n'
    got = loaded(write(tmp_path / "p.jsonl", text))
    assert got.attacks["attack_text"].to_list() == ["a", "pretty"]
    assert got.attacks["tags"].to_list() == [None, ["x", "y"]]
    assert reasons(got)[0][1].startswith("line 7 is not valid JSON")


def test_jq_style_stream_of_pretty_objects(tmp_path):
    records = [{"attack_text": f"p{i}", "tags": ["a", "b"], "meta": {"k": i}} for i in range(3)]
    text = "".join(json.dumps(r, indent=2) + "\n" for r in records)
    got = loaded(write(tmp_path / "jq.json", text))
    assert got.inputs[0].format == "jsonl"
    assert got.attacks.select("source_row", "attack_text").rows() == [(0, "p0"), (1, "p1"), (2, "p2")]


def test_broken_pretty_object_is_read_line_by_line(tmp_path):
    text = '{\n  "attack_text": "x"\n  "rating": 1\n}\n{"attack_text": "after"}\n'
    got = loaded(write(tmp_path / "b.jsonl", text))
    assert got.attacks["attack_text"].to_list() == ["after"]
    assert [row for row, _ in reasons(got)] == [0, 1, 2, 3]


def test_many_unfinished_lines_stay_fast_and_counted(tmp_path):
    text = '{"attack_text": "a", "x":\n' * 3000 + "{\n" + '{"attack_text": "b"}\n' * 3000
    got = loaded(write(tmp_path / "u.jsonl", text))
    assert (got.inputs[0].n_read, got.inputs[0].n_loaded) == (6001, 3000)


def test_lone_surrogate_escape_becomes_replacement_character(tmp_path):
    got = loaded(write(tmp_path / "s.jsonl", '{"attack_text": "a\\ud800b", "tags": ["\\udfff"]}\n'))
    assert got.attacks.select("attack_text", "tags").row(0) == ("a\ufffdb", ["\ufffd"])


# --------------------------------------------------------------------------------------------- JSON array


def test_malformed_array_element_is_skipped_and_reading_resumes(tmp_path):
    text = '[{"attack_text": "a"}, {"attack_text": "b" "x": 1}, {"attack_text": "c"}, 7, {"attack_text": "d"},]'
    got = loaded(write(tmp_path / "m.json", text))
    assert got.attacks.select("source_row", "attack_text").rows() == [(0, "a"), (2, "c"), (4, "d")]
    row, why = reasons(got)[0]
    assert row == 1 and why.startswith("record 1 is not valid JSON: Expecting ',' delimiter")
    assert reasons(got)[1] == (3, "record is not a JSON object (it is a number)")


@pytest.mark.parametrize("text, tail_reason", [
    ('[{"attack_text": "a"}, {"attack_text": "b', "record 1 is cut off by the end of the file"),
    ('[{"attack_text": "a"}, {"attack_text": "b"}', "the file ends before the JSON array is closed"),
    ('[{"attack_text": "a"}, {"attack_text": "b"}] trailing', "unexpected data after the end of the JSON array"),
])
def test_array_ends_badly(tmp_path, text, tail_reason):
    got = loaded(write(tmp_path / "t.json", text))
    assert got.attacks["attack_text"].to_list()[0] == "a"
    assert reasons(got)[-1][1].startswith(tail_reason)


@pytest.mark.parametrize("name", ["records.jsonl", "records.csv", "records"])
def test_json_array_detected_whatever_the_name(tmp_path, name):
    got = loaded(write(tmp_path / name, '\n [\n{"attack_text": "a"},\n{"attack_text": "b"}\n]\n'))
    assert got.inputs[0].format == "json"
    assert got.attacks["attack_text"].to_list() == ["a", "b"]


@pytest.mark.parametrize("name", ["records.json", "records.csv", "records.txt"])
def test_json_lines_detected_whatever_the_name(tmp_path, name):
    got = loaded(write(tmp_path / name, '{"attack_text": "a"}\n{"attack_text": "b"}\n'))
    assert got.inputs[0].format == "jsonl"
    assert got.attacks["attack_text"].to_list() == ["a", "b"]


# --------------------------------------------------------------------------------------------- CSV


def test_csv_ragged_rows_and_embedded_newlines(tmp_path):
    text = ('attack_text,rating,campaign\n'
            '"line one\nline two, with comma",3,c1\n'
            'short row,1\n'
            'long row,2,c,extra\n'
            'trailing empties,2,c,,\n'
            '\n'
            '"say ""hi""",0,c2\r\n'
            'last,4,c3')
    got = loaded(write(tmp_path / "r.csv", text))
    assert got.attacks.select("source_row", "attack_text", "rating", "campaign").rows() == [
        (0, "line one\nline two, with comma", 3.0, "c1"),
        (3, "trailing empties", 2.0, "c"),
        (4, 'say "hi"', 0.0, "c2"),
        (5, "last", 4.0, "c3"),
    ]
    assert reasons(got) == [(1, "the row has 2 fields but the header has 3 columns"),
                            (2, "the row has 4 fields but the header has 3 columns")]
    assert got.rejected["raw_excerpt"].to_list() == ["short row,1\n", "long row,2,c,extra\n"]


def test_csv_unbalanced_quote_swallows_rows_into_one_rejection(tmp_path):
    got = loaded(write(tmp_path / "q.csv", 'attack_text,rating\nok,1\n"broken,2\nnext,3\n'))
    assert got.attacks["attack_text"].to_list() == ["ok"]
    assert reasons(got) == [(1, "the row has 1 field but the header has 2 columns")]


def test_csv_header_only_and_numbers_as_strings(tmp_path):
    assert loaded(write(tmp_path / "h.csv", "attack_text,rating\n")).inputs[0].n_read == 0
    got = loaded(write(tmp_path / "n.csv", "attack_text,rating,success\na, 3 ,1\nb,abc,\nc,,TRUE\n"))
    assert got.attacks.select("attack_text", "rating", "success").rows() == [("a", 3.0, True), ("c", None, True)]
    assert reasons(got) == [(1, "rating 'abc' is not a number")]


# --------------------------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding, prefix", [
    ("utf-8", b"\xef\xbb\xbf"), ("utf-16", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("utf-16-le", b""), ("utf-32", b""),
])
def test_byte_order_marks_and_utf16(tmp_path, encoding, prefix):
    text = "attack_text,task_description\nnaïve “quote”,日本語\n"
    got = loaded(write(tmp_path / "e.csv", prefix + text.encode(encoding)))
    assert got.attacks.select("attack_text", "task_description").row(0) == ("naïve “quote”", "日本語")
    got = loaded(write(tmp_path / "e.jsonl", prefix + '{"attack_text": "ünï"}\n'.encode(encoding)))
    assert got.attacks["attack_text"].to_list() == ["ünï"]


def test_invalid_utf8_is_read_as_windows_1252(tmp_path):
    data = "attack_text\ncafé “quoted”\nplain\n".encode("cp1252")
    got = loaded(write(tmp_path / "w.csv", data))
    assert got.attacks["attack_text"].to_list() == ["café “quoted”", "plain"]
    mixed = '{"attack_text": "ok ’"}\n'.encode() + b'{"attack_text": "bad \xff byte"}\n'
    got = loaded(write(tmp_path / "m.jsonl", mixed))
    assert got.attacks["attack_text"].to_list() == ["ok ’", "bad ÿ byte"]


def test_nul_bytes_are_removed(tmp_path):
    got = loaded(write(tmp_path / "z.jsonl", b'{"attack_text": "a\x00b"}\n\x00\x00{"attack_text": "c"}\n'))
    assert got.attacks["attack_text"].to_list() == ["ab", "c"]
    got = loaded(write(tmp_path / "z.csv", b"attack_text,rating\nx\x00y,1\n"))
    assert got.attacks["attack_text"].to_list() == ["xy"]


# --------------------------------------------------------------------------------------------- whole files


@pytest.mark.parametrize("data, reason", [
    (b"", "the file is empty"),
    (b" \n\t\n", "the file holds no data (only whitespace)"),
    (b"PK\x03\x04" + bytes(50), "zip archives are not read; unzip the file and pass its contents"),
    (bytes(range(256)) * 40, "the file does not look like text data"),
    (gzip.compress(b"", mtime=0), "the gzip stream holds no data"),  # mtime 0: the same test id on every worker
    (b"\x1f\x8b\x08\x00garbage", "the gzip stream is truncated or corrupt before any data"),
])
def test_unreadable_files_are_one_rejection(tmp_path, data, reason):
    got = loaded(write(tmp_path / "f.jsonl", data))
    assert got.inputs[0].n_read == got.inputs[0].n_rejected == 1
    assert got.inputs[0].format == "unreadable"
    [(row, why)] = reasons(got)
    assert row is None and why.startswith(reason)


def test_random_binary_with_a_data_extension(tmp_path):
    for name, data in [("x.parquet", os.urandom(4096)), ("y.bin", b"PAR1" + os.urandom(4096))]:
        got = loaded(write(tmp_path / name, data))
        [(row, why)] = reasons(got)
        assert row is None and why.startswith("the file is not a readable Parquet file")
    got = loaded(write(tmp_path / "z.csv", os.urandom(4096)))
    [(row, why)] = reasons(got)
    assert row is None and why.startswith("the file does not look like text data")


def _jsonl_records(n: int) -> bytes:
    return "".join(json.dumps({"attack_text": f"prompt {i}", "rating": i % 5}) + "\n" for i in range(n)).encode()


@pytest.mark.parametrize("name", ["t.jsonl.gz", "t.json.gz"])
def test_truncated_gzip_keeps_rows_before_the_break(tmp_path, name):
    n = 20_000
    if name == "t.jsonl.gz":
        data = _jsonl_records(n)
    else:
        data = json.dumps([{"attack_text": f"prompt {i}", "rating": i % 5} for i in range(n)]).encode()
    compressed = gzip.compress(data)
    got = loaded(write(tmp_path / name, compressed[: len(compressed) * 2 // 3]))
    s = got.inputs[0]
    assert 0 < s.n_loaded < n and s.n_rejected == 1
    assert got.attacks["attack_text"].to_list() == [f"prompt {i}" for i in range(s.n_loaded)]
    [(row, why)] = reasons(got)
    assert row == s.n_loaded
    assert why.startswith("the gzip data is truncated or corrupt after")
    assert "Compressed file ended before the end-of-stream marker was reached" in why


def test_corrupt_gzip_body(tmp_path):
    compressed = bytearray(gzip.compress(_jsonl_records(5000)))
    compressed[len(compressed) // 2: len(compressed) // 2 + 64] = bytes(64)
    got = loaded(write(tmp_path / "c.jsonl.gz", bytes(compressed)))
    assert got.inputs[0].n_rejected >= 1
    assert any("gzip data is truncated or corrupt" in why for _, why in reasons(got))


def _bomb(first: bytes, filler_mb: int, line: bytes) -> bytes:
    """A gzip file inflating to ``filler_mb`` MiB of ``line``s: one small member repeated (multi-member gzip)."""
    member = gzip.compress(line * (1024 * 1024 // len(line)), compresslevel=9)
    return gzip.compress(first) + member * filler_mb


@pytest.mark.parametrize("line", [b" " * 1023 + b"\n", b" "], ids=["many-lines", "one-endless-line"])
def test_gzip_bomb_stops_at_the_limit(tmp_path, line):
    path = write(tmp_path / "bomb.jsonl.gz", _bomb(_jsonl_records(3), 1024, line))  # 1 GiB inflated, ~1 MB on disk
    got = loaded(path, max_decompressed_bytes=8 * 1024 * 1024)
    assert got.attacks["attack_text"].to_list() == ["prompt 0", "prompt 1", "prompt 2"]
    [(row, why)] = reasons(got)
    assert row == 3
    assert why.startswith("the decompressed data is larger than the limit of 8,388,608 bytes")
    sniffed = files.sniff(path)
    chunks = files.TextChunks(path, sniffed.compression, sniffed.encoding, 8 * 1024 * 1024)
    assert sum(len(c) for c in chunks) <= 8 * 1024 * 1024 + 1  # stopped there, not after inflating it all
    assert chunks.error is not None


def test_bad_file_among_good_ones_keeps_the_good(tmp_path):
    good = write(tmp_path / "good.jsonl", '{"attack_text": "a"}\n')
    bad = write(tmp_path / "bad.jsonl", b"")
    copy = write(tmp_path / "copy.jsonl", good.read_bytes())
    got = load([good, bad, copy], progress=False)
    check_invariants(got)
    assert [s.n_loaded for s in got.inputs] == [1, 0, 1]
    assert got.attacks["is_duplicate"].to_list() == [False, True]


# --------------------------------------------------------------------------------------------- properties

_CANONICAL_KEYS = ["attack_text", "rating", "success", "model", "model_type", "model_size", "tags", "transcript",
                   "harmlessness", "red_team_member_id", "is_upworker", "created_at", "campaign", "response"]
_scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
            | st.text(max_size=30) | st.sampled_from(["3", "abc", "yes", "NaN", "", " ", "2022-01-01", "52B", "\x00",
                                                      "\n\nHuman: hi\n\nAssistant: yo"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                                            inner, max_size=3),
                       max_leaves=6)
_records = st.dictionaries(st.sampled_from(_CANONICAL_KEYS) | st.text(max_size=8), _values, max_size=6)
_record_lists = st.lists(st.fixed_dictionaries({"attack_text": st.text(min_size=1, max_size=20)}) | _records,
                         min_size=1, max_size=12)

_PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _serialise(records: list, container: str) -> bytes:
    if container == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    if container == "json":
        return json.dumps(records, indent=1).encode()
    buf = io.StringIO()
    keys = sorted({k for r in records for k in r}) or ["attack_text"]
    writer = csv.writer(buf)
    writer.writerow(keys)
    for r in records:
        writer.writerow(["" if r.get(k) is None else (json.dumps(r[k]) if not isinstance(r[k], str) else r[k])
                         for k in keys])
    return buf.getvalue().encode()


def _load_or_user_error(path: Path, fmt: str = "auto"):
    try:
        got = load([path], fmt, progress=False)
    except UserError as exc:
        assert str(exc).strip()
        return None
    check_invariants(got)
    return got


@_PROPERTY_SETTINGS
@given(records=_record_lists, container=st.sampled_from(["jsonl", "json", "csv"]), compress=st.booleans())
def test_property_random_records(records, container, compress):
    data = _serialise(records, container)
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / f"r.{container}", gzip.compress(data) if compress else data)
        got = _load_or_user_error(path)
        if got is not None and container in ("jsonl", "json"):
            assert got.inputs[0].n_read == len(records)  # one record per element, none lost or invented
        again = _load_or_user_error(path)
        if got is not None:
            assert again.attacks["attack_id"].to_list() == got.attacks["attack_id"].to_list()


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(5)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.randrange(256)
        elif op == 1:
            b[pos:pos] = bytes(rng.choice([b"\x00", b"\xff", b'"', b",", b"[", b"{", b"}", b"]", b"\n", b"\\",
                                           b"\r", b"\xef\xbb\xbf", b"NaN", b"\xe2\x80"]))
        elif op == 2:
            del b[pos:pos + rng.randint(1, 20)]
        elif op == 3:
            b = b[:pos]
        else:
            b[pos:pos] = b[rng.randrange(len(b) + 1):][:rng.randint(1, 40)]
    return bytes(b)


@_PROPERTY_SETTINGS
@given(records=_record_lists, container=st.sampled_from(["jsonl", "json", "csv", "parquet"]),
       compress=st.sampled_from(["none", "before", "after"]), seed=st.integers(0, 2**32 - 1),
       fmt=st.sampled_from(["auto", "auto", "anthropic", "csv", "jsonl", "json", "parquet"]))
def test_property_mutated_files(records, container, compress, seed, fmt):
    rng = random.Random(seed)
    if container == "parquet":
        buf = io.BytesIO()
        pl.DataFrame({"attack_text": [str(r.get("attack_text", "")) for r in records],
                      "rating": [rng.choice([None, 1.0, 9.0]) for _ in records]}).write_parquet(buf)
        data = buf.getvalue()
    else:
        data = _serialise(records, container)
    if compress == "before":
        data = _mutate(gzip.compress(data), rng)
    elif compress == "after":
        data = gzip.compress(_mutate(data, rng))
    else:
        data = _mutate(data, rng)
    with tempfile.TemporaryDirectory() as tmp:
        _load_or_user_error(write(Path(tmp) / f"m.{container}", data), fmt)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), name=st.sampled_from(["x.json", "x.jsonl", "x.csv", "x", "x.parquet"]))
def test_property_arbitrary_bytes(data, name):
    with tempfile.TemporaryDirectory() as tmp:
        _load_or_user_error(write(Path(tmp) / name, data))


def _outcome(path: Path):
    got = _load_or_user_error(path)
    if got is None:
        return None
    return (got.attacks.drop("source_file").rows(), got.rejected.select("source_row", "reason").rows(),
            got.turns.rows())


@_PROPERTY_SETTINGS
@given(records=_record_lists, chunk=st.integers(1, 64), compress=st.booleans())
def test_property_chunk_size_and_container_do_not_change_the_result(records, chunk, compress):
    """The streaming readers give the same result whatever the chunk size, array or lines."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for container in ("json", "jsonl"):
            data = _serialise(records, container)
            paths[container] = write(Path(tmp) / f"r.{container}", gzip.compress(data) if compress else data)
        expected = _outcome(paths["jsonl"])
        assert _outcome(paths["json"]) == expected
        saved = files.CHUNK_BYTES
        files.CHUNK_BYTES = chunk
        try:
            assert _outcome(paths["json"]) == expected
            assert _outcome(paths["jsonl"]) == expected
        finally:
            files.CHUNK_BYTES = saved
