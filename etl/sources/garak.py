"""garak ``*.report.jsonl``: one canonical row per (attempt, output) of status-2 attempts.

Detected by content: a JSON Lines file whose first line has ``"entry_type": "start_run setup"``, or (the
legacy ≤0.12 shape, which may lack the setup line) an ``"entry_type": "attempt"`` line with ``probe_classname``.

Field by field (garak/attempt.py ``Attempt.as_dict``, garak/command.py):
- Each attempt is written twice (status 1 after generation, 2 after detection, same ``uuid``); only status 2
  is read. Status-1 lines are skipped, not counted as records.
- ``attack_text`` = the last user turn of ``prompt.turns[].content.text`` (≥0.13) or ``prompt`` itself (≤0.12,
  a string); ``response`` = ``outputs[i].text`` (≤0.12: ``outputs[i]`` a string); multi-turn conversations
  (``conversations[i].turns``) become the transcript.
- ``task_description`` = ``goal`` (newer: ``intent``); ``attack_method`` = ``probe_classname``.
- ``model`` = setup ``plugins.target_name`` (else ``plugins.target_type``); before 0.13.1
  ``plugins.model_name`` / ``plugins.model_type``.
- ``success`` = any detector's score for output i is at least the run's ``run.eval_threshold`` (default 0.5):
  garak's detectors score 1.0 for a hit (the model misbehaved). An output no detector scored is rejected.
  ``tags`` = ``detector:<name>`` for each detector that scored it (``hit:`` prefix for the ones that fired),
  plus the probe's tags from the ``digest`` record.
- ``category`` = the probe's first harm tag from the digest, preferring ``payload:unwanted:*``,
  ``payload:malicious:*``, ``quality:Behavioral:*`` and ``risk-cards:*`` over other ``payload:*``,
  ``quality:*`` and ``avid-effect:*`` tags; none when the digest has no tags.
- ``campaign`` = the run's id (init ``run``, else setup ``transient.run_id``), else the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "garak"
DEFAULT_THRESHOLD = 0.5
_TAG_PREFERENCE = ("payload:unwanted:", "payload:malicious:", "quality:Behavioral:", "risk-cards:", "payload:",
                   "quality:", "avid-effect:")


def detect(p: Probe) -> bool:
    first = p.first_line_json
    if not isinstance(first, dict):
        return False
    kind = first.get("entry_type")
    return kind == "start_run setup" or (kind == "attempt" and "probe_classname" in first)


def read(p: Probe, options: Options) -> Iterator[Row]:
    lines = list(native.iter_json_lines(p, options.max_bytes))
    setup: dict[str, Any] = {}
    run_id = None
    probe_tags: dict[str, list[str]] = {}
    for value, _, _ in lines:
        if not isinstance(value, dict):
            continue
        kind = value.get("entry_type")
        if kind == "start_run setup":
            setup = value
        elif kind == "init":
            run_id = value.get("run") or run_id
        elif kind == "digest":
            probe_tags.update(_digest_tags(value))
    threshold = setup.get("run.eval_threshold")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        threshold = DEFAULT_THRESHOLD
    model = (setup.get("plugins.target_name") or setup.get("plugins.model_name")
             or setup.get("plugins.target_type") or setup.get("plugins.model_type"))
    campaign = run_id or setup.get("transient.run_id") or p.path.name.removesuffix(".jsonl").removesuffix(".report")
    run = {"model": model if isinstance(model, str) else None, "campaign": campaign, "threshold": threshold}

    for value, error, line in lines:
        if error is not None:
            yield Row(None, line, error)
            continue
        if not isinstance(value, dict):
            yield Row(None, value, f"record is not a JSON object (it is {native.validate.describe(value)})")
            continue
        if value.get("entry_type") != "attempt" or value.get("status") != 2:
            continue  # run metadata, evaluations and status-1 duplicates of attempts
        yield from _attempt_rows(value, run, probe_tags)


def _digest_tags(digest: dict) -> dict[str, list[str]]:
    """{probe name: its tags} from the digest's ``eval.<group>.<probe>._summary.probe_tags``."""
    out: dict[str, list[str]] = {}
    groups = digest.get("eval")
    if not isinstance(groups, dict):
        return out
    for group in groups.values():
        if not isinstance(group, dict):
            continue
        for name, probe in group.items():
            tags = native.get_path(probe, "_summary.probe_tags")
            if isinstance(tags, list):
                out[name] = [t for t in tags if isinstance(t, str)]
    return out


def _harm_tag(tags: list[str]) -> str | None:
    for prefix in _TAG_PREFERENCE:
        for t in tags:
            if t.startswith(prefix):
                return t
    return None


def _turn_text(turn: Any) -> str | None:
    if not isinstance(turn, dict):
        return None
    return native.text_of(native.get_path(turn, "content.text", turn.get("content")))


def _attempt_rows(a: dict, run: dict, probe_tags: dict[str, list[str]]) -> Iterator[Row]:
    prompt = a.get("prompt")
    if isinstance(prompt, dict):  # ≥0.13: a Conversation
        turns = prompt.get("turns") if isinstance(prompt.get("turns"), list) else []
        user = [_turn_text(t) for t in turns if isinstance(t, dict) and t.get("role") == "user"]
        attack_text = user[-1] if user else None
    else:
        attack_text = prompt
    outputs = a.get("outputs")
    if not isinstance(outputs, list) or not outputs:
        yield Row(None, a, "the attempt has no outputs (the target generated nothing)")
        return
    detectors = a.get("detector_results") if isinstance(a.get("detector_results"), dict) else {}
    conversations = a.get("conversations") if isinstance(a.get("conversations"), list) else []
    probe = a.get("probe_classname")
    tags = probe_tags.get(probe, []) if isinstance(probe, str) else []
    for i, out in enumerate(outputs):
        response = out.get("text") if isinstance(out, dict) else out
        if response is None:
            yield Row(None, a, f"output {i} of the attempt is empty (garak recorded no generation for it)")
            continue
        scores = {}
        for name, values in detectors.items():
            if isinstance(values, list) and i < len(values) and isinstance(values[i], (int, float)) \
                    and not isinstance(values[i], bool):
                scores[name] = float(values[i])
        if not scores:
            yield Row(None, a, f"no detector scored output {i} of the attempt")
            continue
        hits = [n for n, s in scores.items() if s >= run["threshold"]]
        transcript = None
        if i < len(conversations) and isinstance(conversations[i], dict):
            conv_turns = conversations[i].get("turns")
            if isinstance(conv_turns, list):
                pairs = [(t.get("role"), _turn_text(t)) for t in conv_turns if isinstance(t, dict)]
                if sum(1 for r, _ in pairs if r == "user") > 1:  # multi-turn: keep the conversation
                    transcript = native.transcript_of(pairs)
        yield Row({
            "attack_text": attack_text,
            "transcript": transcript,
            "response": response,
            "task_description": a.get("goal", a.get("intent")),
            "attack_method": probe,
            "model": run["model"],
            "success": bool(hits),
            "tags": [f"detector:{n}" for n in scores] + [f"hit:{n}" for n in hits] + tags,
            "category": _harm_tag(tags),
            "campaign": run["campaign"],
        }, a)
