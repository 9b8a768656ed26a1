"""HarmBench results and completions: ``results/{method}/{experiment}/{results|completions}/{model}.json``.

Detected by content: a JSON object mapping BehaviorID → a list of objects with ``test_case`` and ``generation``
(results files add ``label``). One row per (behaviour, test case):
- ``attack_text`` = ``test_case``; ``response`` = ``generation``.
- ``task_description`` = the behaviour's ``Behavior`` and ``category`` = its ``SemanticCategory``, joined on
  ``BehaviorID`` from the behaviours CSV given with ``--behaviors PATH`` (HarmBench's
  ``data/behavior_datasets/harmbench_behaviors_text_all.csv`` or any CSV with those columns). Without it, or
  for an id the CSV lacks, both are null and a warning says so; ``tags`` = ``behavior_id:<id>`` and
  ``functional_category:<FunctionalCategory>``.
- ``success`` = ``label == 1`` (completions files have no label: unknown); ``label == -1`` means HarmBench's
  classifier output was unreadable: the row is rejected with that reason.
- ``attack_method`` = ``{method}``, ``model`` = ``{model}`` (the file's stem), ``campaign`` =
  ``{method}/{experiment}`` when the path follows HarmBench's layout; else the file's stem is the model and
  method and campaign are null / the file name.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl import validate
from etl.errors import UserError
from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "harmbench"
_KINDS = ("results", "completions")


def detect(p: Probe) -> bool:
    head = p.head_json
    if isinstance(head, dict):
        return _looks_harmbench(head)
    text = p.text
    return text.startswith("{") and native.has_keys(text, "test_case", "generation") and not native.has_keys(
        text, "jailbreaks")


def _looks_harmbench(doc: dict) -> bool:
    if not doc:
        return False
    if not all(isinstance(cases, list) for cases in doc.values()):
        return False
    return any(isinstance(c, dict) and "test_case" in c and "generation" in c
               for cases in doc.values() for c in cases[:10])


def layout(path: Path) -> dict[str, str | None]:
    """method, experiment and model from ``…/{method}/{experiment}/{results|completions}/{model}.json``."""
    parts = path.parts
    if len(parts) >= 4 and parts[-2] in _KINDS:
        return {"method": parts[-4], "experiment": parts[-3], "model": path.stem}
    return {"method": None, "experiment": None, "model": path.stem}


def load_behaviors(path: Path) -> dict[str, dict[str, str]]:
    """{BehaviorID: row} from HarmBench's behaviours CSV; UserError when it lacks the columns needed."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = reader.fieldnames or []
            missing = [c for c in ("BehaviorID", "Behavior", "SemanticCategory") if c not in columns]
            if missing:
                raise UserError(f"--behaviors {path}: the CSV lacks the column(s) {', '.join(missing)} "
                                f"(its columns are: {', '.join(columns) or '(none)'}); give HarmBench's "
                                "behaviours CSV (harmbench_behaviors_text_all.csv)")
            return {row["BehaviorID"]: row for row in reader if row.get("BehaviorID")}
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"--behaviors {path}: cannot be read as CSV ({exc})") from None


def read(p: Probe, options: Options) -> Iterator[Row]:
    doc = native.read_json(p, options.max_bytes)
    if not isinstance(doc, dict):
        raise native.FileUnreadable("the file is not a HarmBench results file (a JSON object of BehaviorID → list)")
    behaviors = load_behaviors(options.behaviors) if options.behaviors is not None else None
    if behaviors is None:
        options.warnings.append("no --behaviors CSV given: HarmBench intent and category are unknown "
                                "(give harmbench_behaviors_text_all.csv with --behaviors PATH)")
    where = layout(p.path)
    campaign = f"{where['method']}/{where['experiment']}" if where["method"] else p.path.stem
    unknown: set[str] = set()
    for behavior_id, cases in doc.items():
        if not isinstance(cases, list):
            yield Row(None, {behavior_id: cases}, f"{behavior_id}: expected a list of test cases, got "
                      f"{validate.describe(cases)}")
            continue
        info = behaviors.get(behavior_id) if behaviors is not None else None
        if behaviors is not None and info is None:
            unknown.add(behavior_id)
        for case in cases:
            yield _row(behavior_id, case, info, where, campaign)
    if unknown:
        options.warnings.append(f"{len(unknown)} BehaviorID(s) are not in {options.behaviors} (e.g. "
                                f"{sorted(unknown)[0]}); their intent and category are unknown")


def _row(behavior_id: str, case: Any, info: dict[str, str] | None, where: dict, campaign: str) -> Row:
    if not isinstance(case, dict):
        return Row(None, case, f"test case of {behavior_id} is not a JSON object (it is {validate.describe(case)})")
    label = case.get("label")
    if label == -1:
        return Row(None, case, "HarmBench's classifier output was unreadable for this test case (label -1)")
    if label is not None and label not in (0, 1):
        return Row(None, case, f"label {label!r} is not 0, 1 or -1")
    tags = [f"behavior_id:{behavior_id}"]
    if info and info.get("FunctionalCategory"):
        tags.append(f"functional_category:{info['FunctionalCategory']}")
    return Row({
        "attack_text": case.get("test_case"),
        "response": case.get("generation"),
        "task_description": info.get("Behavior") if info else None,
        "category": info.get("SemanticCategory") if info else None,
        "success": None if label is None else label == 1,
        "model": where["model"],
        "attack_method": where["method"],
        "tags": tags,
        "campaign": campaign,
    }, {"behavior_id": behavior_id, **case})
