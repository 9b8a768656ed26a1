"""Rebuild etl/taxonomy/corpus/pyrit.csv, the assigner's labelled training corpus, from a PyRIT wheel.

``python -m bench.quality.build_corpus PATH/TO/pyrit-1.1.0-py3-none-any.whl`` (``pip download --no-deps
pyrit==1.1.0``). PyRIT (Microsoft, MIT licence) ships real red-team objectives labelled with harm categories: its
scorer evaluation sets and its AI Red Team seed prompts. Each PyRIT category maps to the set of theme ids it can
mean (``CATEGORY_THEMES``); the assigner learns from such set-valued labels (etl/themes.py). AdvBench (also in
the wheel) is left out: its categories were assigned by a language model in an unrelated harm taxonomy.
None of the evaluation sets of bench/quality is in this corpus: with ``../shared/data`` beside the repository,
every item that duplicates one of their requests (``data.normalise``d) is dropped and the count printed; without it
the build refuses to run unless ``--no-held-out-check`` is given.
"""

from __future__ import annotations

import csv
import io
import sys
import zipfile
from pathlib import Path

import yaml

from bench.quality import data

OUT = Path(__file__).resolve().parents[2] / "etl" / "taxonomy" / "corpus" / "pyrit.csv"

_ILLEGAL = ["theft", "fraud_deception", "cybercrime_hacking", "weapons_cbrn", "substance_abuse",
            "terrorism_organized_crime", "property_crime_vandalism", "digital_piracy_ip",
            "sexual_exploitation_trafficking", "animal_abuse"]
_VIOLENCE = ["violence_incitement", "weapons_cbrn", "terrorism_organized_crime", "animal_abuse", "child_abuse"]
_SEXUAL = ["adult_content", "sexual_exploitation_trafficking", "child_abuse"]
_HATE = ["hate_speech_offensive", "discrimination_injustice"]

# PyRIT harm category (lower-cased) -> acceptable theme ids. None: not a harm label (skipped).
CATEGORY_THEMES: dict[str, list[str] | None] = {
    "hate_speech": _HATE, "hate": _HATE, "bias": _HATE, "representational": _HATE,
    "violence": _VIOLENCE, "explosions": ["weapons_cbrn", "terrorism_organized_crime", "violence_incitement"],
    "privacy": ["privacy_pii", "cybercrime_hacking"],
    "exploits": ["cybercrime_hacking"], "cyber": ["cybercrime_hacking"], "cyber_harms": ["cybercrime_hacking"],
    "self_harm": ["self_harm"], "psychosocial": ["self_harm", "specialized_advice"],
    "mental_health_crisis": ["self_harm"], "imminent_crisis": ["self_harm"],
    "licensed_therapist": ["specialized_advice", "self_harm"],
    "information_integrity": ["misinformation_conspiracy", "fraud_deception"],
    "misinformation": ["misinformation_conspiracy", "fraud_deception"],
    "sexual_content": _SEXUAL, "sexual": _SEXUAL,
    "chemical_biological": ["weapons_cbrn"],
    "illegal_activity": _ILLEGAL, "illegal": _ILLEGAL,
    "phishing": ["cybercrime_hacking", "fraud_deception"], "scams": ["fraud_deception", "cybercrime_hacking"],
    "harassment_bullying": ["bullying_harassment"], "harassment": ["bullying_harassment"],
    "leakage": ["digital_piracy_ip", "privacy_pii"],
    "fairness": None, "multi-harm": None,
}


def _rows_from_scorer_evals(z: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    out = []
    for name in sorted(z.namelist()):
        if not (name.startswith("pyrit/datasets/scorer_evals/") and name.endswith(".csv")):
            continue
        text = z.read(name).decode("utf-8")
        lines = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
        for r in csv.DictReader(io.StringIO("".join(lines))):
            cat = (r.get("harm_category") or "").strip().lower()
            objective = (r.get("objective") or "").strip()
            if cat and objective and r.get("data_type", "text") == "text":
                out.append((objective, cat, name))
    return out


def _rows_from_airt(z: zipfile.ZipFile) -> list[tuple[str, str, str]]:
    out = []
    for name in sorted(z.namelist()):
        if not (name.startswith("pyrit/datasets/seed_datasets/local/airt/") and name.endswith(".prompt")):
            continue
        doc = yaml.safe_load(z.read(name))
        default = doc.get("harm_categories")
        default = default if isinstance(default, list) else [default] if default else []
        for seed in doc.get("seeds", []):
            value = (seed.get("value") or "").strip()
            meta = seed.get("metadata") or {}
            value = (meta.get("translated_value") or value).strip()
            if not value or "{{" in value:
                continue
            cats = seed.get("harm_categories") or default
            for cat in cats[:1]:  # the seed's first (main) category
                out.append((value, str(cat).lower(), name))
    return out


def build(wheel: Path, held_out: set[str] | None = None) -> tuple[list[dict], int]:
    """The corpus rows from the PyRIT wheel and how many items were dropped as duplicates of ``held_out``
    (``data.normalise``d evaluation requests; None: no check)."""
    with zipfile.ZipFile(wheel) as z:
        raw = _rows_from_scorer_evals(z) + _rows_from_airt(z)
    seen: dict[str, dict] = {}
    dropped: set[str] = set()
    for text, cat, source in raw:
        if cat not in CATEGORY_THEMES:
            raise KeyError(f"PyRIT category {cat!r} ({source}) has no entry in CATEGORY_THEMES")
        themes = CATEGORY_THEMES[cat]
        if themes is None:
            continue
        key = data.normalise(text)
        if held_out is not None and key in held_out:
            dropped.add(key)
            continue
        if key in seen:  # the same objective under several categories: keep the themes they share, else all
            both = [t for t in seen[key]["themes"].split(";") if t in themes]
            seen[key]["themes"] = ";".join(both or sorted(set(seen[key]["themes"].split(";")) | set(themes)))
            continue
        seen[key] = {"text": text, "category": cat, "themes": ";".join(themes), "source": source.split("datasets/")[1]}
    return list(seen.values()), len(dropped)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--no-held-out-check" not in args
    args = [a for a in args if a != "--no-held-out-check"]
    if len(args) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if check and not data.shared_available():
        print(f"build_corpus: {data.SHARED} is missing, so the corpus cannot be checked against the evaluation sets; "
              "run beside ../shared/data or pass --no-held-out-check", file=sys.stderr)
        return 2
    rows, dropped = build(Path(args[0]), data.held_out_texts() if check else None)
    if check:
        print(f"dropped {dropped} items that duplicate a request of the evaluation sets")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["text", "category", "themes", "source"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} labelled requests to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
