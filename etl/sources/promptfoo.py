"""promptfoo eval output: ``-o results.json`` (schema v2 and v3) and ``-o results.jsonl`` (one result a line).

Detected by content: a JSON object with top-level ``evalId`` and ``results`` (``results.version`` 3, or 2 with
``table``); or JSON Lines whose first line is one EvaluateResult (``promptIdx``/``testIdx`` plus ``provider``,
``response`` or ``gradingResult``).

One row per EvaluateResult (promptfoo src/types/index.ts, src/redteam/):
- ``attack_text`` = ``metadata.redteamFinalPrompt`` (multi-turn strategies), else ``vars[<injectVar>]``
  (``config.redteam.injectVar``, else ``prompt``, ``query``, ``input``), else ``prompt.raw``.
- ``transcript`` = ``metadata.redteamHistory`` (a list of {prompt, output}) when the strategy was multi-turn.
- ``task_description`` = ``metadata.goal``, else ``config.redteam.purpose``.
- ``model`` = ``provider.label``, else ``provider.id`` (a plain string in v2).
- ``attack_method`` = ``metadata.strategyId`` (absent = ``basic``).
- ``category`` = ``metadata.pluginId`` (e.g. ``harmful:hate``), else ``metadata.harmCategory``;
  ``tags`` = ``severity:<severity>`` and the harm category when both exist.
- ``success`` = ``gradingResult.pass == false`` (pass = the model defended), else ``success == false``.
  ``failureReason == 2`` (ERROR) rows are rejected with the ``error`` text, not counted as failures.
- ``campaign`` = ``evalId`` (JSON Lines: the file name); ``created_at`` = ``results.timestamp``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from etl import validate
from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "promptfoo"
ERROR = 2  # ResultFailureReason.ERROR
_INJECT_FALLBACKS = ("prompt", "query", "input", "question")


def detect(p: Probe) -> bool:
    text = p.text
    if not text.startswith("{"):
        return False
    head = p.head_json
    if isinstance(head, dict):
        return _is_output_file(head) or _is_result(head)
    if native.has_keys(text, "evalId", "results") and native.has_keys(text, "version"):
        return True
    first = p.first_line_json
    return isinstance(first, dict) and _is_result(first)


def _is_output_file(doc: dict) -> bool:
    results = doc.get("results")
    return "evalId" in doc and isinstance(results, dict) and "results" in results


def _is_result(doc: dict) -> bool:
    return ("promptIdx" in doc or "testIdx" in doc) and any(k in doc for k in ("provider", "response",
                                                                              "gradingResult"))


def read(p: Probe, options: Options) -> Iterator[Row]:
    head = p.head_json
    if p.text.startswith("{") and (isinstance(head, dict) and _is_output_file(head)
                                   or head is None and native.has_keys(p.text, "evalId")):
        doc = native.read_json(p, options.max_bytes)
        if not isinstance(doc, dict) or not _is_output_file(doc):
            raise native.FileUnreadable("the file is not a promptfoo output file (no 'evalId' and 'results.results')")
        summary = doc["results"]
        config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
        context = {"campaign": doc.get("evalId"), "created_at": summary.get("timestamp"), "config": config}
        results = summary.get("results")
        if not isinstance(results, list):
            raise native.FileUnreadable("results.results is not a list")
        for r in results:
            yield _row(r, context)
        return
    context = {"campaign": p.path.name.split(".")[0], "created_at": None, "config": {}}
    for value, error, line in native.iter_json_lines(p, options.max_bytes):
        yield Row(None, line, error) if error is not None else _row(value, context)


def _row(r: Any, context: dict[str, Any]) -> Row:
    if not isinstance(r, dict):
        return Row(None, r, f"result is not a JSON object (it is {validate.describe(r)})")
    if r.get("failureReason") == ERROR:
        return Row(None, r, f"promptfoo recorded an error, not a result: {str(r.get('error') or 'no message')[:300]}")
    meta = r.get("metadata") if isinstance(r.get("metadata"), dict) else {}
    test_meta = native.get_path(r, "testCase.metadata", {})
    meta = {**(test_meta if isinstance(test_meta, dict) else {}), **meta}
    config = context["config"]
    vars_ = r.get("vars") if isinstance(r.get("vars"), dict) else native.get_path(r, "testCase.vars", {})
    vars_ = vars_ if isinstance(vars_, dict) else {}
    inject = native.get_path(config, "redteam.injectVar")
    attack = meta.get("redteamFinalPrompt")
    if attack is None:
        for key in ((inject,) if isinstance(inject, str) else ()) + _INJECT_FALLBACKS:
            if key in vars_:
                attack = vars_[key]
                break
    if attack is None:
        attack = native.get_path(r, "prompt.raw")
    history = meta.get("redteamHistory")
    transcript = None
    if isinstance(history, list) and history:
        turns: list[tuple[str, str | None]] = []
        for h in history:
            if isinstance(h, dict):
                turns += [("user", native.text_of(h.get("prompt"))), ("assistant", native.text_of(h.get("output")))]
        transcript = native.transcript_of(turns)
    provider = r.get("provider")
    model = (provider.get("label") or provider.get("id")) if isinstance(provider, dict) else provider
    passed = native.get_path(r, "gradingResult.pass")
    if not isinstance(passed, bool):
        passed = r.get("success") if isinstance(r.get("success"), bool) else None
    category = meta.get("pluginId") or meta.get("harmCategory")
    tags = [f"severity:{meta['severity']}"] if isinstance(meta.get("severity"), str) else []
    if isinstance(meta.get("harmCategory"), str) and meta.get("harmCategory") != category:
        tags.append(f"harmCategory:{meta['harmCategory']}")
    output = native.get_path(r, "response.output")
    return Row({
        "attack_text": attack,
        "transcript": transcript,
        "response": output if output is None or isinstance(output, str) else json.dumps(output, ensure_ascii=False),
        "task_description": meta.get("goal") or native.get_path(config, "redteam.purpose"),
        "model": model or None,
        "attack_method": meta.get("strategyId") or "basic",
        "category": category,
        "tags": tags or None,
        "success": None if passed is None else not passed,
        "campaign": context["campaign"],
        "created_at": context["created_at"],
    }, r)
