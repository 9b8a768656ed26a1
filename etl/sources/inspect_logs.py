"""inspect-ai eval logs: ``.eval`` (a zip: ``header.json`` + ``samples/*.json``) and the one-file ``.json`` log.

Detected by content: a zip archive holding ``header.json``; or a JSON object with top-level ``version``,
``eval`` and ``plan`` (or ``results``). Read with the standard library (zipfile, json), so the ``inspect_ai``
package is not needed; chunked samples (``samples/{id}_epoch_{n}/sample.json``) are read too.

One row per sample (and epoch):
- ``attack_text`` = ``input`` (a string, or the last user message of a list of messages); multi-message
  samples keep their ``messages`` as the transcript.
- ``response`` = ``output.choices[0].message.content`` (text parts joined), else ``output.completion``.
- ``task_description`` = ``target`` (text, or a list joined); ``model`` = ``eval.model``;
  ``attack_method`` = ``eval.task`` (plus ``/<solver>`` when the plan names one); ``category`` =
  ``metadata.category`` (else ``metadata.harm_category``) where the task sets one;
  ``campaign`` = ``eval.run_id``; ``created_at`` = ``eval.created``.
- ``success``: the meaning of a score is task-specific, so it comes from the user's rule
  (``--success-when 'score=C'``; see ``etl.sources.native.SuccessRule``). Without a rule it is left unknown
  (null) and a warning says so. A sample with an ``error`` is rejected with that error.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from etl import validate
from etl.sources import native
from etl.sources.native import Options, Probe, Row

NAME = "inspect"
_SAMPLE = re.compile(r"^samples/[^/]+(\.json|/sample\.json)$")
_NO_RULE = ("success is unknown: the meaning of an inspect-ai score depends on the task; give a rule such as "
            "--success-when 'score=C' (or 'score>=0.5')")


def detect(p: Probe) -> bool:
    names = p.zip_names
    if names is not None:
        return "header.json" in names
    head = p.head_json
    if isinstance(head, dict):
        return _is_log(head)
    text = p.text
    return text.startswith("{") and native.has_keys(text, "version", "eval") and (
        native.has_keys(text, "plan") or native.has_keys(text, "results"))


def _is_log(doc: dict) -> bool:
    return "version" in doc and isinstance(doc.get("eval"), dict) and ("plan" in doc or "results" in doc)


def read(p: Probe, options: Options) -> Iterator[Row]:
    if p.zip_names is not None:
        yield from _read_zip(p, options)
        return
    doc = native.read_json(p, options.max_bytes)
    if not isinstance(doc, dict) or not _is_log(doc):
        raise native.FileUnreadable("the file is not an inspect-ai log (no 'version', 'eval' and 'plan')")
    samples = doc.get("samples")
    if options.success_when is None and samples:
        options.warnings.append(_NO_RULE)
    for sample in samples if isinstance(samples, list) else []:
        yield _row(sample, doc, options)


def _read_zip(p: Probe, options: Options) -> Iterator[Row]:
    try:
        z = zipfile.ZipFile(p.path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise native.FileUnreadable(f"the .eval archive cannot be opened ({exc})") from None
    with z:
        try:
            header = _zip_json(z, "header.json", options.max_bytes)
        except ValueError as exc:
            raise native.FileUnreadable(f"header.json: {exc}") from None
        if not isinstance(header, dict) or not isinstance(header.get("eval"), dict):
            raise native.FileUnreadable("header.json has no 'eval' object")
        names = sorted((n for n in z.namelist() if _SAMPLE.match(n)), key=_sample_order)
        if options.success_when is None and names:
            options.warnings.append(_NO_RULE)
        for name in names:
            try:
                sample = _zip_json(z, name, options.max_bytes)
            except ValueError as exc:
                yield Row(None, name, f"{name}: {exc}")
                continue
            yield _row(sample, header, options)


def _zip_json(z: zipfile.ZipFile, name: str, max_bytes: int) -> Any:
    try:
        info = z.getinfo(name)
        if info.file_size > max_bytes:
            raise ValueError(f"{info.file_size:,} bytes uncompressed, over the limit of {max_bytes:,}")
        with z.open(info) as f:
            data = f.read(max_bytes + 1)
        return validate.fix_surrogates(json.loads(data.decode("utf-8", errors="replace")))
    except KeyError:
        raise ValueError("missing from the archive") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"cannot be read from the archive ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ValueError("nested too deeply to read") from None


def _sample_order(name: str) -> tuple:
    m = re.match(r"^samples/(.+?)_epoch_(\d+)", name)
    if not m:
        return (2, name)
    sid, epoch = m.groups()
    return (0, int(sid), int(epoch)) if sid.isdigit() else (1, sid, int(epoch))


def _row(sample: Any, log: dict, options: Options) -> Row:
    if not isinstance(sample, dict):
        return Row(None, sample, f"sample is not a JSON object (it is {validate.describe(sample)})")
    error = sample.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else error
        return Row(None, sample, f"inspect-ai recorded an error for this sample: {str(message)[:300]}")
    ev = log["eval"]
    inp = sample.get("input")
    messages = sample.get("messages") if isinstance(sample.get("messages"), list) else []
    if isinstance(inp, list):
        users = [native.text_of(m.get("content")) for m in inp if isinstance(m, dict) and m.get("role") == "user"]
        attack = users[-1] if users else None
    else:
        attack = inp
    pairs = [(m.get("role"), native.text_of(m.get("content"))) for m in messages if isinstance(m, dict)]
    transcript = native.transcript_of(pairs) if sum(1 for r, _ in pairs if r == "user") > 1 else None
    response = None
    choices = native.get_path(sample, "output.choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        response = native.text_of(native.get_path(choices[0], "message.content"))
    if response is None:
        response = native.get_path(sample, "output.completion")
    scores_raw = sample.get("scores") if isinstance(sample.get("scores"), dict) else {}
    scores = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in scores_raw.items()}
    success = options.success_when.test(scores) if options.success_when is not None else None
    target = sample.get("target")
    if isinstance(target, list):
        target = "; ".join(str(t) for t in target)
    meta = sample.get("metadata") if isinstance(sample.get("metadata"), dict) else {}
    solver = native.get_path(log, "eval.solver") or _plan_solver(log.get("plan"))
    method = ev.get("task")
    if isinstance(method, str) and isinstance(solver, str) and solver:
        method = f"{method}/{solver}"
    category = meta.get("category", meta.get("harm_category"))
    return Row({
        "attack_text": attack,
        "transcript": transcript,
        "response": response,
        "task_description": target,
        "model": ev.get("model"),
        "attack_method": method,
        "category": category if isinstance(category, str) else None,
        "success": success,
        "tags": [f"score:{k}={v}" for k, v in scores.items() if isinstance(v, (str, int, float))] or None,
        "campaign": ev.get("run_id") or ev.get("task_id"),
        "created_at": ev.get("created"),
    }, sample)


def _plan_solver(plan: Any) -> str | None:
    """The plan's solver names joined with '+' (``generate`` alone is the default and left out)."""
    steps = plan.get("steps") if isinstance(plan, dict) else None
    if not isinstance(steps, list):
        return None
    names = [s.get("solver") for s in steps if isinstance(s, dict) and isinstance(s.get("solver"), str)]
    names = [n for n in names if n != "generate"]
    return "+".join(names) or None
