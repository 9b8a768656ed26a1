"""deepteam ``RiskAssessment.save()`` output (``YYYYMMDD_HHMMSS.json``), both key styles.

Detected by content: a JSON object with top-level ``overview`` and ``test_cases`` (camelCase ``testCases``
before 2025-09). One row per test case (deepteam ``RedTeamingTestCase``):
- ``attack_text`` = ``input``, else the last user turn of ``turns[]`` (multi-turn attacks; the turns become
  the transcript); ``response`` = ``actual_output`` / ``actualOutput``.
- ``attack_method`` = ``attack_method`` / ``attackMethod``; ``category`` = ``vulnerability_type`` /
  ``vulnerabilityType`` (else ``vulnerability``); ``tags`` = ``vulnerability:<v>`` and ``risk_category:<r>``.
- ``success`` = ``score == 0`` (deepteam scores 1 when the model passed, i.e. resisted); a test case with an
  ``error`` is rejected with that error. No target model is recorded; ``campaign`` = the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from etl import validate
from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "deepteam"


def detect(p: Probe) -> bool:
    head = p.head_json
    if isinstance(head, dict):
        return _cases(head) is not None
    text = p.text
    return text.startswith("{") and native.has_keys(text, "overview") and (
        native.has_keys(text, "test_cases") or native.has_keys(text, "testCases"))


def _cases(doc: dict) -> list | None:
    if "overview" not in doc:
        return None
    cases = doc.get("test_cases", doc.get("testCases"))
    return cases if isinstance(cases, list) else None


def _get(case: dict, snake: str) -> Any:
    if snake in case:
        return case[snake]
    head, *rest = snake.split("_")
    return case.get(head + "".join(w.capitalize() for w in rest))


def read(p: Probe, options: Options) -> Iterator[Row]:
    doc = native.read_json(p, options.max_bytes)
    cases = _cases(doc) if isinstance(doc, dict) else None
    if cases is None:
        raise native.FileUnreadable("the file is not a deepteam risk assessment (no 'overview' and 'test_cases')")
    campaign = p.path.name.rsplit(".", 1)[0]
    for case in cases:
        yield _row(case, campaign)


def _row(case: Any, campaign: str) -> Row:
    if not isinstance(case, dict):
        return Row(None, case, f"test case is not a JSON object (it is {validate.describe(case)})")
    error = case.get("error")
    if error:
        return Row(None, case, f"deepteam recorded an error for this test case: {str(error)[:300]}")
    turns = case.get("turns") if isinstance(case.get("turns"), list) else []
    pairs = [(t.get("role"), native.text_of(t.get("content"))) for t in turns if isinstance(t, dict)]
    attack = case.get("input")
    if attack is None:
        users = [text for role, text in pairs if role == "user" and text]
        attack = users[-1] if users else None
    response = _get(case, "actual_output")
    if response is None:
        replies = [text for role, text in pairs if role == "assistant" and text]
        response = replies[-1] if replies else None
    score = case.get("score")
    success = None
    if isinstance(score, (int, float)) and not isinstance(score, bool):
        success = score == 0
    elif score is not None:
        return Row(None, case, f"score must be a number (0 = the attack worked), got {validate.describe(score)}")
    vulnerability = case.get("vulnerability")
    category = _get(case, "vulnerability_type") or vulnerability
    tags = [f"vulnerability:{vulnerability}"] if isinstance(vulnerability, str) else []
    risk = _get(case, "risk_category")
    if isinstance(risk, str):
        tags.append(f"risk_category:{risk}")
    return Row({
        "attack_text": attack,
        "transcript": native.transcript_of(pairs) if len(pairs) > 2 else None,
        "response": response,
        "attack_method": _get(case, "attack_method"),
        "category": category if isinstance(category, str) else None,
        "tags": tags or None,
        "success": success,
        "campaign": campaign,
    }, case)
