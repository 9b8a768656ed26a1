"""The synthetic demo dataset: real format, the paper's shape, determinism and atomic files."""

from __future__ import annotations

import gzip
import json
import re
import string
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from etl import demo
from etl import demo_vocab as V
from etl.errors import UserError

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SAMPLE = SHARED / "data" / "hh-rlhf" / "red_team_attempts.sample.json"
ROWS = 5000

EXPECTED_KEYS = [
    "transcript", "min_harmlessness_score_transcript", "num_params", "model_type", "rating", "task_description",
    "task_descripton_harmlessness_score", "red_team_member_id", "is_upworker", "tags",
]
THEMES = [
    "violence_incitement", "hate_speech_offensive", "discrimination_injustice", "bullying_harassment",
    "misinformation_conspiracy", "digital_piracy_ip", "cybercrime_hacking", "theft", "property_crime_vandalism",
    "fraud_deception", "weapons_cbrn", "substance_abuse", "terrorism_organized_crime",
    "sexual_exploitation_trafficking", "adult_content", "child_abuse", "self_harm", "animal_abuse", "privacy_pii",
    "unethical_nonviolent", "other",
]
PAPER_TAGS = {
    "violence & incitement", "discrimination & injustice", "hate speech & offensive language",
    "non-violent unethical behaviour", "bullying & harassment", "theft",
    "soliciting personally identifiable information", "conspiracy theories & misinformation",
    "substance abuse & banned substances", "fraud & deception", "weapons", "adult content",
    "property crime & vandalism", "animal abuse", "terrorism & organized crime",
    "sexual exploitation & human trafficking", "self-harm", "child abuse", "other",
}
TURN = re.compile(r"\n\n(Human|Assistant): ")


@pytest.fixture(scope="module")
def data() -> tuple[list[dict], pl.DataFrame, pl.DataFrame]:
    records, truth = demo.generate(ROWS, 0)
    frame = pl.DataFrame(
        {
            "model_type": [r["model_type"] for r in records],
            "size": [r["num_params"] for r in records],
            "rating": [r["rating"] for r in records],
            "harmlessness": [r["min_harmlessness_score_transcript"] for r in records],
            "task_harmlessness": [r["task_descripton_harmlessness_score"] for r in records],
            "member": [r["red_team_member_id"] for r in records],
            "upworker": [r["is_upworker"] for r in records],
            "tagged": [r["tags"] is not None for r in records],
        }
    ).with_columns(success=pl.col("rating") >= 3.0, theme=truth["theme"])
    return records, truth, frame


def _success(frame: pl.DataFrame, **where: str) -> float:
    sub = frame
    for col, value in where.items():
        sub = sub.filter(pl.col(col) == value)
    return float(sub["success"].mean())


# ---- format ----------------------------------------------------------------------------------------

def test_keys_and_types_match_the_real_sample(data):
    if not SAMPLE.exists():
        pytest.skip(f"real sample not available at {SAMPLE} (../shared is absent)")
    real = json.loads(SAMPLE.read_text())
    records = data[0]
    assert list(real[0]) == EXPECTED_KEYS
    for rec in records[:500]:
        assert list(rec) == list(real[0])
        for key in rec:
            real_types = {type(r[key]) for r in real if r[key] is not None}
            if real_types:  # keys the sample has only as null are checked in the next test
                assert type(rec[key]) in real_types, key


def test_value_vocabularies_and_ranges(data):
    records = data[0]
    for rec in records:
        assert list(rec) == EXPECTED_KEYS
        assert rec["num_params"] in ("2.7B", "13B", "52B")
        assert rec["model_type"] in ("plain lm", "context distillation", "rejection sampling", "rlhf")
        assert isinstance(rec["rating"], float) and rec["rating"] in (0.0, 1.0, 2.0, 3.0, 4.0)
        assert isinstance(rec["min_harmlessness_score_transcript"], float)
        assert -4.5 <= rec["min_harmlessness_score_transcript"] <= 2.5
        assert isinstance(rec["task_descripton_harmlessness_score"], float)
        assert -4.5 <= rec["task_descripton_harmlessness_score"] <= 3.5
        assert type(rec["red_team_member_id"]) is int and type(rec["is_upworker"]) is bool
        assert rec["tags"] is None or (isinstance(rec["tags"], list) and 1 <= len(rec["tags"]) <= 6
                                       and all(isinstance(t, str) for t in rec["tags"]))
        assert 5 <= len(rec["task_description"].split()) <= 25


def test_transcripts_alternate_human_and_assistant_turns(data):
    n_humans = Counter()
    for rec in data[0]:
        text = rec["transcript"]
        assert text.startswith("\n\nHuman: ")
        speakers = TURN.findall(text)
        assert speakers == ["Human", "Assistant"] * (len(speakers) // 2)
        assert all(part.strip() for part in TURN.split(text)[2::2])  # no empty turn
        n_humans[len(speakers) // 2] += 1
    assert set(n_humans) <= set(range(1, 7))
    one_to_three = sum(n_humans[k] for k in (1, 2, 3)) / ROWS
    assert 0.65 <= one_to_three <= 0.9


def test_text_is_varied(data):
    records, truth, _ = data
    tasks = [r["task_description"] for r in records]
    assert len(set(tasks)) > 0.6 * len(tasks)
    first_turns = [TURN.split(r["transcript"])[2] for r in records]
    by_sub: dict[str, set[str]] = {}
    for sub, turn in zip(truth["subtopic"], first_turns):
        by_sub.setdefault(sub, set()).add(turn)
    counts = Counter(truth["subtopic"])
    # Nearly every record of a subtopic opens differently.
    assert all(len(by_sub[s]) >= 0.6 * n for s, n in counts.items() if n >= 30)


# ---- taxonomy --------------------------------------------------------------------------------------

def test_themes_and_subtopics_are_well_formed():
    assert [t.id for t in V.THEMES] == THEMES
    ids = [s.id for s in V.SUBTOPICS]
    assert len(ids) == len(set(ids))
    assert 80 <= len(ids) <= 120
    per_theme = Counter(s.theme for s in V.SUBTOPICS)
    assert set(per_theme) == set(THEMES)
    assert all(3 <= n <= 8 for n in per_theme.values())
    for theme in V.THEMES:
        assert theme.tags and set(theme.tags) <= PAPER_TAGS


def test_every_template_slot_has_values():
    fields = string.Formatter()
    for sub in V.SUBTOPICS:
        for text in sub.goals + sub.asks + sub.more + sub.comply + sub.ctx:
            for _, name, _, _ in fields.parse(text):
                if name is not None:
                    assert name in sub.slots or name in V.GLOBAL_SLOTS, (sub.id, text)


# ---- the paper's shape -----------------------------------------------------------------------------

def test_model_cells_are_imbalanced_like_the_real_file(data):
    shares = data[2].group_by("model_type", "size").len().with_columns(share=pl.col("len") / ROWS)
    assert shares.height == 12
    big = shares.filter((pl.col("model_type") == "context distillation") & (pl.col("size") == "52B"))["share"][0]
    rest = shares.filter(~((pl.col("model_type") == "context distillation") & (pl.col("size") == "52B")))["share"]
    assert 0.35 <= big <= 0.50
    assert rest.min() >= 0.01 and rest.max() <= 0.10


def test_rlhf_gets_harder_to_red_team_with_size_while_others_stay_flat(data):
    frame = data[2]
    rlhf = [_success(frame, model_type="rlhf", size=s) for s in ("2.7B", "13B", "52B")]
    assert rlhf[0] > rlhf[1] > rlhf[2]
    assert rlhf[0] - rlhf[2] >= 0.12
    for mtype in ("plain lm", "context distillation", "rejection sampling"):
        rates = [_success(frame, model_type=mtype, size=s) for s in ("2.7B", "13B", "52B")]
        assert max(rates) - min(rates) <= 0.10, (mtype, rates)


def test_misinformation_succeeds_more_than_piracy(data):
    frame = data[2]
    assert _success(frame, theme="misinformation_conspiracy") - _success(frame, theme="digital_piracy_ip") >= 0.10


def test_harmlessness_falls_as_rating_rises(data):
    frame = data[2]
    corr = np.corrcoef(frame["harmlessness"].to_numpy(), frame["rating"].to_numpy())[0, 1]
    assert -0.7 <= corr <= -0.3


def test_nastier_intents_have_lower_task_harmlessness(data):
    frame = data[2]
    mean = frame.group_by("theme").agg(pl.col("task_harmlessness").mean())
    score = dict(zip(mean["theme"], mean["task_harmlessness"]))
    assert max(score["child_abuse"], score["weapons_cbrn"]) < min(score["digital_piracy_ip"], score["other"]) - 1.0


def test_a_few_members_write_most_attacks(data):
    frame = data[2]
    counts = np.sort(frame["member"].value_counts()["count"].to_numpy())[::-1]
    assert 100 <= len(counts) <= demo.N_MEMBERS
    top = int(np.ceil(0.15 * len(counts)))
    assert counts[:top].sum() / counts.sum() >= 0.65
    # is_upworker is a property of the member
    assert frame.group_by("member").agg(pl.col("upworker").n_unique())["upworker"].max() == 1


def test_tags_only_on_two_model_types_and_match_the_theme(data):
    records, truth, frame = data
    tagged = frame.filter("tagged")
    assert set(tagged["model_type"]) <= set(demo.TAGGED_MODEL_TYPES)
    expected = 1000 / 38961 * ROWS
    assert 0.6 * expected <= tagged.height <= 1.4 * expected
    primary = {t.id: t.tags[0] for t in V.THEMES}
    for rec, theme in zip(records, truth["theme"]):
        if rec["tags"] is not None:
            assert rec["tags"][0] == primary[theme]
            assert set(rec["tags"]) <= PAPER_TAGS


# ---- determinism, files ----------------------------------------------------------------------------

def test_same_seed_gives_same_records_and_another_seed_does_not():
    a, ta = demo.generate(300, 7)
    b, tb = demo.generate(300, 7)
    c, _ = demo.generate(300, 8)
    assert a == b and ta.equals(tb)
    assert a != c


def test_write_demo_is_byte_identical_for_a_seed(tmp_path):
    one = demo.write_demo(tmp_path / "a" / "demo.json.gz", rows=400, seed=3)
    two = demo.write_demo(tmp_path / "b" / "demo.json.gz", rows=400, seed=3)
    assert Path(one["path"]).read_bytes() == Path(two["path"]).read_bytes()
    assert one["rows"] == 400 and one["bytes"] == Path(one["path"]).stat().st_size and one["seconds"] >= 0


def test_gzip_or_plain_json_array_by_file_name(tmp_path):
    demo.write_demo(tmp_path / "demo.json.gz", rows=200, seed=1)
    demo.write_demo(tmp_path / "demo.json", rows=200, seed=1)
    packed = (tmp_path / "demo.json.gz").read_bytes()
    plain = (tmp_path / "demo.json").read_bytes()
    assert packed[:2] == b"\x1f\x8b" and plain[:1] == b"["
    assert gzip.decompress(packed) == plain
    records = json.loads(plain)
    assert isinstance(records, list) and len(records) == 200
    assert records == demo.generate(200, 1)[0]


def test_truth_sidecar_is_written_and_aligned(tmp_path):
    out = tmp_path / "nested" / "red_team_attempts.demo.json.gz"
    summary = demo.write_demo(out, rows=300, seed=2)
    truth_path = Path(str(out) + ".truth.parquet")
    assert summary["truth_path"] == str(truth_path)
    truth = pl.read_parquet(truth_path)
    assert truth.schema == pl.Schema({"source_row": pl.Int64, "theme": pl.String, "subtopic": pl.String})
    assert truth["source_row"].to_list() == list(range(300))
    assert set(truth["theme"]) <= set(THEMES)
    subtopic_theme = {s.id: s.theme for s in V.SUBTOPICS}
    assert all(subtopic_theme[s] == t for s, t in zip(truth["subtopic"], truth["theme"]))
    with gzip.open(out) as f:
        assert len(json.load(f)) == truth.height
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([out.name, truth_path.name])  # no temp files


def test_interrupted_write_leaves_no_file(tmp_path):
    target = tmp_path / "demo.json"

    def broken(f):
        f.write(b"[{")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        demo._atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("rows, seed", [(0, 0), (-5, 0), (10, -1), (2.5, 0)])
def test_bad_arguments_are_user_errors(tmp_path, rows, seed):
    with pytest.raises(UserError):
        demo.generate(rows, seed)
    with pytest.raises(UserError):
        demo.write_demo(tmp_path / "x.json", rows=rows, seed=seed)
    assert not (tmp_path / "x.json").exists()
