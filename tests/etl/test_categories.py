"""Source category → theme maps: shipped vocabularies, the user's file, and the per-row allowed themes."""

from __future__ import annotations

import importlib.resources
import tomllib

import pytest

from etl.categories import load_category_maps, normalise
from etl.errors import UserError
from etl.themes import load_taxonomy

IDS = load_taxonomy().ids
VOCABULARIES = ("harmbench", "jailbreakbench", "strongreject", "promptfoo", "garak", "mlcommons_ailuminate",
                "llama_guard")


def test_every_vocabulary_ships_with_provenance_and_valid_theme_ids():
    root = importlib.resources.files("etl").joinpath("taxonomy/category_maps")
    for name in VOCABULARIES:
        text = root.joinpath(f"{name}.toml").read_text(encoding="utf-8")
        assert text.startswith("#"), f"{name}.toml needs a provenance header comment"
        for label, ids in tomllib.loads(text)["categories"].items():
            assert ids and set(ids) <= set(IDS), (name, label)


@pytest.mark.parametrize(("label", "expected"), [
    ("chemical_biological", ("weapons_cbrn",)),          # HarmBench
    ("Malware/Hacking", ("cybercrime_hacking",)),        # JailbreakBench
    ("  malware/HACKING ", ("cybercrime_hacking",)),     # case and whitespace do not matter
    ("harmful:self-harm", ("self_harm",)),               # promptfoo
    ("S11", ("self_harm",)),                             # Llama Guard
    ("Indiscriminate Weapons (CBRNE)", ("weapons_cbrn",)),  # AILuminate
])
def test_shipped_labels(label, expected):
    assert load_category_maps().lookup(label) == expected


def test_allowed_themes_and_unmapped_counts():
    maps = load_category_maps()
    allowed, unmapped = maps.allowed_themes(
        ["Malware/Hacking", None, "Government decision-making", "illegal", "made up", "Government decision-making"], IDS)
    assert allowed[0] == ("cybercrime_hacking",)
    assert allowed[1] is None and allowed[2] is None and allowed[4] is None
    assert len(allowed[3]) > 1  # HarmBench "illegal" only narrows the theme
    assert unmapped == {"Government decision-making": 2, "made up": 1}
    # ids the taxonomy in use lacks are dropped; a label left with none counts as unmapped
    allowed, unmapped = maps.allowed_themes(["Malware/Hacking", "illegal"], ["theft", "other"])
    assert allowed == [None, ("theft",)]
    assert unmapped == {"Malware/Hacking": 1}


def test_user_map_wins_and_can_unmap(tmp_path):
    user = tmp_path / "mine.toml"
    user.write_text('[categories]\n"malware/hacking" = ["fraud_deception"]\n"Privacy" = []\n'
                    '"Our Label" = "theft"\n', encoding="utf-8")
    maps = load_category_maps(user)
    assert maps.lookup("Malware/Hacking") == ("fraud_deception",)
    assert maps.lookup("our   label") == ("theft",)
    allowed, unmapped = maps.allowed_themes(["Privacy"], IDS)
    assert allowed == [None] and unmapped == {"Privacy": 1}


@pytest.mark.parametrize(("text", "message"), [
    ('[categories\n"a" = ["theft"]\n', "not valid TOML"),
    ('version = 2\n[categories]\n', "line 1 has version = 2"),
    ('colour = 1\n[categories]\n', "line 1 has an unknown key 'colour'"),
    ('x = 1\n', "unknown key"),
    ('version = 1\n', "no \\[categories\\] table"),
    ('[categories]\n"a" = ["theft"]\n"b" = 3\n', "line 3: category 'b' must map to a list"),
    ('[categories]\n"a" = ["Theft!"]\n', "line 2: .*not a theme id"),
    ('[categories]\n"Ab" = ["theft"]\n"ab" = ["theft"]\n', "line 3: category 'ab' repeats 'Ab'"),
])
def test_bad_user_map_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message) as info:
        load_category_maps(path)
    assert str(path) in str(info.value)


def test_missing_user_map(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_category_maps(tmp_path / "nope.toml")


def test_normalise():
    assert normalise("  Physical \t harm ") == "physical harm"
