"""JailbreakBench artifacts: ``attack-artifacts/{method}/{attack_type}/{model}.json`` and the summary files.

Detected by content:
- a model artifact has top-level ``parameters`` and ``jailbreaks``;
- ``submission.json`` has ``summaries`` → {model: {``model_summary``, ``jailbreaks``}};
- ``evaluation.json`` is {model: {behavior: {``prompt``, ``response``, ``jailbroken``}}}.

One row per jailbreak entry. ``attack_text`` = ``prompt``; a null prompt (the method never submitted one for
that behaviour) is rejected with that reason. ``response``; ``task_description`` = ``goal`` (evaluation.json has
only the behaviour name, used instead); ``category`` = ``category`` (e.g. "Harassment/Discrimination");
``success`` = ``jailbroken``; ``model`` = ``parameters.model`` (summary files: their model key);
``model_type`` = ``parameters.defense`` (the intervention, when there is one); ``attack_method`` =
``parameters.method`` (summary files: the method folder's name); ``tags`` = ``behavior:<behavior>`` and
``attack_type:<attack_type>``; ``created_at`` = ``parameters.evaluation_date``; ``campaign`` =
``<method>/<attack_type>/<model>``.

The published tree holds each jailbreak twice or three times (model files, ``submission.json``,
``evaluation.json``); a directory read (``etl.sources.expand_inputs``) skips a summary file that has model
files beside it (:func:`summary_duplicates`), so each jailbreak is counted once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from etl import validate
from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "jailbreakbench"
SUMMARY_FILES = ("evaluation.json", "submission.json")
_EVALUATION_HEAD = re.compile(r'^\{\s*"[^"]*"\s*:\s*\{\s*"[^"]*"\s*:\s*\{\s*"(prompt|response|jailbroken)"\s*:')


def detect(p: Probe) -> bool:
    text = p.text
    if not text.startswith("{"):
        return False
    head = p.head_json
    if isinstance(head, dict):
        return _kind(head) is not None
    if native.has_keys(text, "parameters", "jailbreaks") or native.has_keys(text, "summaries", "model_summary"):
        return True
    return bool(_EVALUATION_HEAD.match(text)) and native.has_keys(text, "jailbroken")


def _kind(doc: dict) -> str | None:
    if isinstance(doc.get("parameters"), dict) and isinstance(doc.get("jailbreaks"), list):
        return "artifact"
    if isinstance(doc.get("summaries"), dict):
        return "submission"
    if doc and all(isinstance(v, dict) and v and all(isinstance(e, dict) and "jailbroken" in e for e in v.values())
                   for v in doc.values()):
        return "evaluation"
    return None


def summary_duplicates(path: Path, artifact_files: list[Path]) -> str | None:
    """For a summary file with model artifact files in folders beside it: those folders; else None."""
    if path.name not in SUMMARY_FILES:
        return None
    beside = sorted({str(f.parent.relative_to(path.parent)) for f in artifact_files
                     if f.name not in SUMMARY_FILES and f.parent != path.parent and path.parent in f.parents})
    return ", ".join(f"{path.parent.name}/{d}" for d in beside) or None


def read(p: Probe, options: Options) -> Iterator[Row]:
    doc = native.read_json(p, options.max_bytes)
    kind = _kind(doc) if isinstance(doc, dict) else None
    if kind is None:
        raise native.FileUnreadable("the file is not a JailbreakBench artifact (no 'parameters' and 'jailbreaks', "
                                    "'summaries', or model → behaviour → jailbroken entries)")
    folder_method = p.path.parent.name
    if kind == "artifact":
        params = doc["parameters"]
        method = params.get("method") or _method_from_path(p.path)
        attack_type = params.get("attack_type") or (p.path.parent.name if method != p.path.parent.name else None)
        run = {"model": params.get("model") or p.path.stem, "model_type": params.get("defense"), "method": method,
               "attack_type": attack_type, "created_at": params.get("evaluation_date")}
        yield from _jailbreak_rows(doc["jailbreaks"], run)
    elif kind == "submission":
        for model, summary in doc["summaries"].items():
            jailbreaks = summary.get("jailbreaks") if isinstance(summary, dict) else None
            if not isinstance(jailbreaks, list):
                yield Row(None, summary, f"summaries.{model} has no 'jailbreaks' list")
                continue
            yield from _jailbreak_rows(jailbreaks, {"model": model, "method": folder_method})
    else:
        for model, behaviours in doc.items():
            for behavior, entry in behaviours.items():
                yield from _jailbreak_rows([{**entry, "behavior": behavior, "goal": behavior}],
                                           {"model": model, "method": folder_method})


def _method_from_path(path: Path) -> str | None:
    parts = path.parts
    if "attack-artifacts" in parts[:-1]:
        i = parts.index("attack-artifacts")
        return parts[i + 1] if i + 1 < len(parts) - 1 else None
    return None


def _jailbreak_rows(jailbreaks: list, run: dict[str, Any]) -> Iterator[Row]:
    campaign = "/".join(str(x) for x in (run.get("method"), run.get("attack_type"), run.get("model")) if x)
    for jb in jailbreaks:
        if not isinstance(jb, dict):
            yield Row(None, jb, f"jailbreak entry is not a JSON object (it is {validate.describe(jb)})")
            continue
        if jb.get("prompt") is None:
            yield Row(None, jb, "prompt is null: the attack never submitted a prompt for this behaviour "
                                f"({jb.get('behavior') or jb.get('goal') or 'unnamed'})")
            continue
        tags = [f"behavior:{jb['behavior']}"] if isinstance(jb.get("behavior"), str) else []
        if run.get("attack_type"):
            tags.append(f"attack_type:{run['attack_type']}")
        yield Row({
            "attack_text": jb.get("prompt"),
            "response": jb.get("response"),
            "task_description": jb.get("goal"),
            "category": jb.get("category"),
            "success": jb.get("jailbroken"),
            "model": run.get("model"),
            "model_type": run.get("model_type"),
            "attack_method": run.get("method"),
            "tags": tags,
            "created_at": run.get("created_at"),
            "campaign": campaign or None,
        }, jb)
