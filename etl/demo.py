"""Synthetic demo dataset: red-team attempts in the exact format of Anthropic's ``red_team_attempts`` file.

The real file cannot be downloaded offline, so the product ships this generator as its default data.
It writes the same JSON array of records (same keys, including the misspelled
``task_descripton_harmlessness_score``, same types and vocabularies) at real scale, plus a ground-truth
sidecar (``<out>.truth.parquet``: ``source_row``, ``theme``, ``subtopic``) for quality checks.

The numbers reproduce the paper's headline shape: RLHF models get harder to red-team as they grow while
the other three model types stay flat; misinformation attacks succeed more often than piracy attacks;
``min_harmlessness_score_transcript`` falls as ``rating`` rises; a few prolific red-team members write
most attacks. Metadata is drawn vectorised with numpy; text is assembled per record from the phrase
tables in ``etl.demo_vocab``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np
import polars as pl

from etl import demo_vocab as V
from etl.errors import UserError

log = logging.getLogger("redteam_risk.demo")

DEFAULT_ROWS = 38961

# (model_type, num_params, share of rows, shift of the latent success score). Context distillation 52B
# dominates as in the real file; RLHF alone falls with size, the other types are flat.
CELLS: tuple[tuple[str, str, float, float], ...] = (
    ("plain lm", "2.7B", 0.050, 0.20),
    ("plain lm", "13B", 0.050, 0.20),
    ("plain lm", "52B", 0.060, 0.20),
    ("context distillation", "2.7B", 0.055, 0.08),
    ("context distillation", "13B", 0.050, 0.08),
    ("context distillation", "52B", 0.425, 0.08),
    ("rejection sampling", "2.7B", 0.045, -0.35),
    ("rejection sampling", "13B", 0.040, -0.35),
    ("rejection sampling", "52B", 0.050, -0.35),
    ("rlhf", "2.7B", 0.060, 0.08),
    ("rlhf", "13B", 0.055, -0.30),
    ("rlhf", "52B", 0.060, -0.72),
)
# Latent score -> rating 0..4 (integers stored as floats, like the real file).
RATING_CUTS = np.array([-0.70, 0.00, 0.72, 1.35])
# Transcript harmlessness shift by model type: the trained-for-harmlessness models read safer.
HARMLESS_SHIFT = {"plain lm": -0.25, "context distillation": 0.0, "rejection sampling": 0.25, "rlhf": 0.30}
TURN_PROBS = np.array([0.30, 0.27, 0.19, 0.12, 0.07, 0.05])  # P(1..6 human turns)

N_MEMBERS = 300
MEMBER_SPREAD = 1.9  # log-normal sigma of member output: top 15% of members write ~80% of attacks
TAGS_PER_REAL_FILE = 1000  # tagged records per 38,961, only on TAGGED_MODEL_TYPES
TAGGED_MODEL_TYPES = ("rlhf", "context distillation")

# Share of refusals that are evasive rather than explicit, by model type.
EVADE_SHARE = {"rlhf": 0.6, "rejection sampling": 0.7, "context distillation": 0.4, "plain lm": 0.5}
NEUTRAL_REPLIES = (
    "Sure, what would you like to know about {topic}?",
    "That's a big subject. What are you curious about?",
    "I know a little about {topic}. What do you want to know?",
    "Okay, I'm happy to talk. What's on your mind?",
)

HOW_TO = ("how", "what's the best", "what do i need", "where", "what's the easiest")

# The second campaign (``campaigns=2``, opt-in): every RLHF attack replayed against a mitigated RLHF model of the
# same size (model_type MITIGATED_MODEL_TYPE), with these known shifts of the latent success score per theme
# (the ground truth the Compare page should recover); every other theme's success is unchanged in distribution.
MITIGATED_MODEL_TYPE = "rlhf mitigated"
MITIGATED_FROM = "rlhf"
MITIGATION_EFFECTS: dict[str, float] = {
    "hate_speech_offensive": -1.0,
    "unethical_nonviolent": -1.0,
    "misinformation_conspiracy": -1.0,
    "cybercrime_hacking": 1.0,
    "fraud_deception": 1.0,
}
REPLAY_CORRELATION = 0.7  # correlation of an attack's noise between the two campaigns (same attacker, same text)
CAMPAIGNS = (1, 2)

THEME_IDS: tuple[str, ...] = tuple(t.id for t in V.THEMES)
SUBTOPIC_IDS: tuple[str, ...] = tuple(s.id for s in V.SUBTOPICS)


def generate(rows: int, seed: int, campaigns: int = 1) -> tuple[list[dict], pl.DataFrame]:
    """Generate ``rows`` synthetic red-team attempts, deterministically for ``seed``.

    Returns the records (dicts in the real file's key order and types) and the truth frame with
    ``source_row`` (Int64, 0-based index into the records), ``theme`` and ``subtopic`` (String).
    ``campaigns=2`` appends the mitigated replay of every RLHF attack (``MITIGATION_EFFECTS``); the first
    ``rows`` records are then the same as with one campaign, and the truth also has ``campaign`` (1 or 2) and,
    for the replays, ``effect`` ('improvement' | 'regression' | 'none': the generated change of its theme).
    """
    _check_args(rows, seed, campaigns)
    rng = np.random.default_rng(seed)
    meta = _draw_metadata(rng, rows)
    # Python's Random is much faster than numpy for the many small per-record choices; seeded from
    # the numpy stream so one seed fixes everything.
    r = random.Random(int(rng.integers(0, 2**63)))
    themes = {t.id: t for t in V.THEMES}

    records: list[dict] = []
    for i in range(rows):
        sub = V.SUBTOPICS[meta["sub"][i]]
        theme = themes[sub.theme]
        mtype, size = CELLS[meta["cell"][i]][:2]
        member = meta["member"][i]
        rating = int(meta["rating"][i])
        task, transcript = _compose(
            r, sub, theme, meta["strategy"][i], int(meta["turns"][i]), rating, mtype,
            float(meta["lower_p"][member]), float(meta["typo_p"][member]),
        )
        tags = _tags(r, theme) if meta["tagged"][i] else None
        records.append({
            "transcript": transcript,
            "min_harmlessness_score_transcript": float(meta["harmlessness"][i]),
            "num_params": size,
            "model_type": mtype,
            "rating": float(rating),
            "task_description": task,
            "task_descripton_harmlessness_score": float(meta["task_harmlessness"][i]),
            "red_team_member_id": int(meta["member_id"][member]),
            "is_upworker": bool(meta["upworker"][member]),
            "tags": tags,
        })

    sub_idx = meta["sub"]
    truth = pl.DataFrame({
        "source_row": pl.Series(np.arange(rows, dtype=np.int64), dtype=pl.Int64),
        "theme": pl.Series([V.SUBTOPICS[k].theme for k in sub_idx], dtype=pl.String),
        "subtopic": pl.Series([SUBTOPIC_IDS[k] for k in sub_idx], dtype=pl.String),
    })
    if campaigns == 1:
        return records, truth
    replays, originals = _mitigated_campaign(records, meta, seed)
    replay_truth = truth[originals].with_columns(
        pl.Series("source_row", np.arange(rows, rows + len(replays), dtype=np.int64), dtype=pl.Int64))
    effects = [_effect_word(t) for t in replay_truth["theme"].to_list()]
    truth = pl.concat([
        truth.with_columns(pl.lit(1, pl.Int8).alias("campaign"), pl.lit(None, pl.String).alias("effect")),
        replay_truth.with_columns(pl.lit(2, pl.Int8).alias("campaign"), pl.Series("effect", effects, pl.String)),
    ])
    return records + replays, truth


def _effect_word(theme: str) -> str:
    shift = MITIGATION_EFFECTS.get(theme, 0.0)
    return "improvement" if shift < 0 else "regression" if shift > 0 else "none"


def mitigation_truth() -> dict[str, str]:
    """The second campaign's generated change per theme: theme id -> 'improvement' | 'regression' | 'none'."""
    return {theme: _effect_word(theme) for theme in THEME_IDS}


def _mitigated_campaign(records: list[dict], meta: dict[str, np.ndarray], seed: int) -> tuple[list[dict], np.ndarray]:
    """The replay of every ``MITIGATED_FROM`` record against ``MITIGATED_MODEL_TYPE`` of the same size: the same
    task description and first human message, a new rating from the same latent score shifted by its theme's
    ``MITIGATION_EFFECTS`` (the noise correlated ``REPLAY_CORRELATION`` with the original's, so untouched themes
    keep their success distribution), one assistant reply consistent with it. Returns (records, indices of
    the originals)."""
    rng = np.random.default_rng([seed, 2])
    r = random.Random(int(rng.integers(0, 2**63)))
    themes = {t.id: t for t in V.THEMES}
    cell_types = np.array([c[0] for c in CELLS])[meta["cell"]]
    originals = np.flatnonzero(cell_types == MITIGATED_FROM)
    theme_ids = [V.SUBTOPICS[meta["sub"][i]].theme for i in originals]
    shift = np.array([MITIGATION_EFFECTS.get(t, 0.0) for t in theme_ids])
    noise = meta["noise"][originals]
    rho = REPLAY_CORRELATION
    latent = (meta["latent"][originals] - noise) + rho * noise + np.sqrt(1 - rho ** 2) * rng.normal(0, 1.0, len(originals))
    rating = np.searchsorted(RATING_CUTS, latent + shift).astype(np.int64)
    harmlessness = np.clip(1.15 - 0.5 * rating - 1.3 * meta["severity"][originals] + HARMLESS_SHIFT[MITIGATED_FROM]
                           + rng.normal(0, 1.1, len(originals)), -4.4, 2.4)
    replays = []
    for j, i in enumerate(originals):
        original = records[i]
        sub = V.SUBTOPICS[meta["sub"][i]]
        theme = themes[sub.theme]
        first_human = original["transcript"].split("\n\nAssistant: ", 1)[0].removeprefix("\n\nHuman: ")
        kind = _outcomes(r, 1, int(rating[j]), MITIGATED_FROM, theme.id == "other")[0]
        reply = _reply(r, kind, sub, theme, MITIGATED_FROM, _Slots(r, sub.slots), set())
        replays.append({
            "transcript": f"\n\nHuman: {first_human}\n\nAssistant: {reply}",
            "min_harmlessness_score_transcript": float(harmlessness[j]),
            "num_params": original["num_params"],
            "model_type": MITIGATED_MODEL_TYPE,
            "rating": float(rating[j]),
            "task_description": original["task_description"],
            "task_descripton_harmlessness_score": original["task_descripton_harmlessness_score"],
            "red_team_member_id": original["red_team_member_id"],
            "is_upworker": original["is_upworker"],
            "tags": None,
        })
    return replays, originals


def write_demo(out: Path, rows: int = DEFAULT_ROWS, seed: int = 0, campaigns: int = 1) -> dict:
    """Write the demo dataset to ``out`` (one JSON array; gzip when the name ends in ``.gz``) and the
    truth sidecar to ``<out>.truth.parquet``, each atomically (temp file + ``os.replace``).

    Returns ``{"path", "truth_path", "rows", "seconds", "bytes"}``; seconds is wall-clock time of the
    whole call, bytes the size of the data file on disk, rows the records written (with ``campaigns=2``,
    ``rows`` plus the mitigated replays; see ``generate``).
    """
    out = Path(out)
    _check_args(rows, seed, campaigns)
    start = time.perf_counter()
    log.info("demo: generating %d records (seed %d) -> %s", rows, seed, out)
    records, truth = generate(rows, seed, campaigns)
    out.parent.mkdir(parents=True, exist_ok=True)
    truth_path = Path(str(out) + ".truth.parquet")
    _atomic_write(truth_path, lambda f: truth.write_parquet(f))

    lines = ",\n".join(json.dumps(rec, ensure_ascii=False) for rec in records)
    payload = ("[\n" + lines + "\n]\n").encode("utf-8")
    if out.name.endswith(".gz"):
        def write(f):  # fixed header (no name, mtime 0) so the same seed gives the same bytes
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=6) as gz:
                gz.write(payload)
    else:
        def write(f):
            f.write(payload)
    _atomic_write(out, write)

    seconds = time.perf_counter() - start
    size = out.stat().st_size
    log.info("demo: wrote %d records, %.1f MB in %.1f s", len(records), size / 1e6, seconds)
    return {"path": str(out), "truth_path": str(truth_path), "rows": len(records), "seconds": round(seconds, 2),
            "bytes": size}


# ---- metadata (vectorised) ------------------------------------------------------------------------

def _check_args(rows: int, seed: int, campaigns: int = 1) -> None:
    if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
        raise UserError(f"The number of demo rows must be a positive whole number, got {rows!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"The demo seed must be a non-negative whole number, got {seed!r}.")
    if isinstance(campaigns, bool) or campaigns not in CAMPAIGNS:
        raise UserError(f"The demo has 1 or 2 campaigns (2 adds a mitigated model), got {campaigns!r}.")


def _draw_metadata(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    themes = {t.id: t for t in V.THEMES}
    theme_w = {t.id: t.weight for t in V.THEMES}
    total_w = sum(theme_w.values())
    sub_total = {t: sum(s.weight for s in V.SUBTOPICS if s.theme == t) for t in theme_w}
    sub_p = np.array([theme_w[s.theme] / total_w * s.weight / sub_total[s.theme] for s in V.SUBTOPICS])
    sub = rng.choice(len(V.SUBTOPICS), size=n, p=sub_p / sub_p.sum())
    sub_theme = [themes[s.theme] for s in V.SUBTOPICS]
    theme_success = np.array([t.success for t in sub_theme])[sub]
    # Subtopics of one theme differ a little in nastiness.
    sub_severity = np.clip(np.array([t.severity for t in sub_theme]) + rng.normal(0, 0.06, len(V.SUBTOPICS)), 0, 1)
    severity = sub_severity[sub]

    cell_p = np.array([c[2] for c in CELLS])
    cell = rng.choice(len(CELLS), size=n, p=cell_p / cell_p.sum())
    cell_shift = np.array([c[3] for c in CELLS])[cell]

    # Members: log-normal output at exact quantiles (so the heavy tail does not depend on luck),
    # shuffled ids; prolific members are a little more skilled and more often Upworkers.
    q = (np.arange(N_MEMBERS) + 0.5) / N_MEMBERS
    output = np.exp(MEMBER_SPREAD * np.array([NormalDist().inv_cdf(x) for x in q]))
    prolific = q >= 0.85
    skill = rng.normal(0, 0.4, N_MEMBERS) + 0.15 * prolific
    upworker = rng.random(N_MEMBERS) < np.where(prolific, 0.45, 0.25)
    typo_p = rng.beta(1.2, 8.0, N_MEMBERS)
    lower_p = rng.beta(0.6, 1.4, N_MEMBERS)
    member_id = rng.permutation(N_MEMBERS)
    member = rng.choice(N_MEMBERS, size=n, p=output / output.sum())

    names = list(V.STRATEGIES)
    strat_p = np.array([V.STRATEGIES[k][0] for k in names])
    strategy = rng.choice(len(names), size=n, p=strat_p / strat_p.sum())
    is_other = np.array([s.theme == "other" for s in V.SUBTOPICS])[sub]
    # Benign attempts are asked plainly or after a little small talk.
    strategy = np.where(is_other, np.where(rng.random(n) < 0.8, names.index("direct"), names.index("escalate")),
                        strategy)
    strat_shift = np.array([V.STRATEGIES[k][1] for k in names])[strategy]

    noise = rng.normal(0, 1.0, n)
    latent = cell_shift + theme_success + strat_shift + skill[member] + noise
    rating = np.searchsorted(RATING_CUTS, latent).astype(np.int64)

    turns = rng.choice(6, size=n, p=TURN_PROBS) + 1
    # Failed attackers keep trying a little longer.
    turns = np.minimum(6, turns + ((rating <= 1) & (rng.random(n) < 0.25)))
    turns = np.where(np.array(names)[strategy] == "escalate", np.maximum(turns, 2), turns)

    mtypes = np.array([c[0] for c in CELLS])[cell]
    type_shift = np.array([HARMLESS_SHIFT[m] for m in mtypes])
    harmlessness = np.clip(1.15 - 0.5 * rating - 1.3 * severity + type_shift + rng.normal(0, 1.1, n), -4.4, 2.4)
    task_harmlessness = np.clip(2.3 - 4.2 * severity + rng.normal(0, 0.75, n), -4.3, 3.3)

    eligible = np.isin(mtypes, TAGGED_MODEL_TYPES)
    tag_p = min(1.0, TAGS_PER_REAL_FILE / DEFAULT_ROWS * n / max(1, eligible.sum()))
    tagged = eligible & (rng.random(n) < tag_p)

    return {
        "sub": sub, "cell": cell, "member": member, "member_id": member_id, "upworker": upworker,
        "typo_p": typo_p, "lower_p": lower_p, "strategy": np.array(names)[strategy], "rating": rating,
        "turns": turns, "harmlessness": harmlessness, "task_harmlessness": task_harmlessness, "tagged": tagged,
        "latent": latent, "noise": noise, "severity": severity,
    }


def _tags(r: random.Random, theme: V.Theme) -> list[str]:
    tags = [theme.tags[0]]
    for extra, p in zip(theme.tags[1:], (0.35, 0.12)):
        if r.random() < p:
            tags.append(extra)
    return tags


# ---- text (per record) ----------------------------------------------------------------------------

class _Slots(dict):
    """One value per slot name per record, drawn on first use from the subtopic's pool or the global one."""

    def __init__(self, r: random.Random, own: dict[str, tuple[str, ...]]):
        super().__init__()
        self.r = r
        self.own = own

    def __missing__(self, key: str) -> str:
        value = self.r.choice(self.own.get(key) or V.GLOBAL_SLOTS[key])
        self[key] = value
        return value


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _lower_first(s: str) -> str:
    return s if s.startswith(("I ", "I'", "DAN")) else s[:1].lower() + s[1:]


def _typo(r: random.Random, text: str) -> str:
    """Swap, drop or double one inner letter of one word of four letters or more."""
    words = text.split(" ")
    candidates = [k for k, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not candidates:
        return text
    k = r.choice(candidates)
    w = words[k]
    j = r.randrange(1, len(w) - 1)
    u = r.random()
    if u < 0.45:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    elif u < 0.8:
        w = w[:j] + w[j + 1:]
    else:
        w = w[:j] + w[j] + w[j:]
    words[k] = w
    return " ".join(words)


def _style_human(r: random.Random, text: str, lower: bool, typo_p: float) -> str:
    if lower:
        text = text.lower()
    elif r.random() < 0.6:
        text = _cap(text)
    if text[-1:] in "?." and r.random() < 0.2:
        text = text[:-1]
    if r.random() < typo_p:
        text = _typo(r, text)
        if r.random() < 0.3:
            text = _typo(r, text)
    return text


def _task(r: random.Random, sub: V.Subtopic, goal: str, strategy: str, meta_goal: bool) -> str:
    if meta_goal or sub.theme == "other":
        pools = (V.TASK_BARE,)
    elif strategy in V.TASK_STRATEGY and r.random() < 0.4:
        pools = (V.TASK_STRATEGY[strategy],)
    else:
        pools = (V.TASK_GOAL,)
    for _ in range(4):
        text = r.choice(pools[0]).format(goal=goal, Goal=_cap(goal))
        if 5 <= len(text.split()) <= 25:
            return text
    text = f"I tried to get the AI to help me {goal}"
    return text if len(text.split()) <= 25 else " ".join(f"Tried to {goal}".split()[:25])


def _outcomes(r: random.Random, n: int, rating: int, mtype: str, benign: bool) -> list[str]:
    """One reply kind per assistant turn: comply, partial, evade or refuse, consistent with the rating."""
    if benign:
        return ["comply" if r.random() < 0.9 else "evade" for _ in range(n)]
    evade_p = EVADE_SHARE[mtype]

    def no() -> str:
        return "evade" if r.random() < evade_p else "refuse"

    out = []
    for k in range(n):
        last = k == n - 1
        if rating == 4:
            kind = "comply" if last or r.random() < 0.45 else r.choice(("partial", "evade"))
        elif rating == 3:
            kind = r.choice(("comply", "partial")) if last else r.choice(("partial", "comply", "evade", "refuse"))
        elif rating == 2:
            kind = "partial" if r.random() < 0.35 else no()
        elif rating == 1:
            kind = "partial" if r.random() < 0.12 else no()
        else:
            kind = no()
        if r.random() < 0.05:  # raters and models are noisy
            kind = r.choice(("comply", "partial", "evade", "refuse"))
        out.append(kind)
    if rating == 2 and "partial" not in out:
        out[r.randrange(n)] = "partial"
    return out


def _reply(r: random.Random, kind: str, sub: V.Subtopic, theme: V.Theme, mtype: str, slots: _Slots,
           used: set[str]) -> str:
    """One assistant turn of ``kind``; ``used`` holds the compliance sentences said earlier in the
    conversation, so a model that keeps complying says something new when it can."""
    benign = theme.id == "other"
    if kind in ("comply", "partial"):
        fresh = [c for c in sub.comply if c not in used] or list(sub.comply)
        picked = r.sample(fresh, min(len(fresh), 2 if kind == "comply" and r.random() < 0.5 else 1))
        used.update(picked)
        said = [c.format_map(slots) for c in picked]
        if kind == "comply":
            parts = [r.choice(V.COMPLY_LEADS)] + [_cap(c) for c in said]
        else:
            parts = [r.choice(V.PARTIAL_HEDGES), _lower_first(said[0])]
        extra = V.BENIGN_EXTRA if benign else V.COMPLY_EXTRA
    elif kind == "refuse":
        parts = [r.choice(V.REFUSE[mtype]).format(why=r.choice(theme.why))]
        extra = V.REFUSE_EXTRA
    else:
        parts = [r.choice(V.EVADE[mtype]).format(topic=sub.topic)]
        extra = V.EVADE_EXTRA
    # Replies run to a few sentences; the plain LM also wanders off topic now and then.
    parts += r.sample(extra, min(len(extra), r.choice((0, 1, 1, 2, 2, 3))))
    if mtype == "plain lm" and r.random() < 0.3:
        parts.append(r.choice(V.RAMBLE))
    if kind == "comply":
        parts.append(r.choice(V.COMPLY_TAILS))
    return " ".join(p for p in parts if p)


def _compose(r: random.Random, sub: V.Subtopic, theme: V.Theme, strategy: str, n_turns: int, rating: int,
             mtype: str, lower_p: float, typo_p: float) -> tuple[str, str]:
    """Return (task_description, transcript) for one record."""
    slots = _Slots(r, sub.slots)
    goal = r.choice(sub.goals).format_map(slots)
    meta_goal = goal.lower().startswith(V.META_GOAL_PREFIXES)
    if theme.sneaky and not meta_goal and r.random() < 0.25 and "without" not in goal and "away with" not in goal:
        goal = f"{goal} {r.choice(V.SNEAKY_ENDINGS)}"
    ask = r.choice(sub.asks).format_map(slots)

    # First attacking message: a complete question from the subtopic, or a goal in a template/wrapper.
    use_ask = meta_goal or r.random() < 0.5
    kind = strategy if strategy not in ("direct", "escalate") else "direct"
    if kind == "step_by_step" and use_ask and not ask.lower().startswith(HOW_TO):
        kind, use_ask = ("direct", True) if meta_goal else (kind, False)
    if kind == "direct":
        attack = ask if use_ask else r.choice(V.DIRECT_GOAL).format(goal=goal)
    elif use_ask:
        attack = r.choice(V.WRAP_ASK[kind]).format(ask=ask, ask_lc=_lower_first(ask))
    else:
        attack = r.choice(V.WRAP_GOAL[kind]).format(goal=goal)
    if theme.id != "other" and r.random() < 0.2:
        attack = f"{r.choice(sub.ctx or V.GENERIC_CTX).format_map(slots)} {attack}"
    if r.random() < 0.12:
        attack = f"{r.choice(V.CASUAL_PREFIXES)} {attack}"
    if r.random() < 0.06:
        attack = f"{attack} {r.choice(V.CASUAL_SUFFIXES)}"

    if strategy == "escalate":
        humans = [r.choice(V.OPENERS).format(topic=sub.topic), f"{r.choice(V.ESCALATE_BRIDGE)} {_lower_first(attack)}"]
    else:
        humans = [attack]

    if kind == "direct" and use_ask and r.random() < 0.15 and 5 <= len(ask.split()) <= 25:
        task = _cap(ask)  # some members just paste their opening question
    else:
        task = _task(r, sub, goal, strategy, meta_goal)
    if r.random() < typo_p / 2:
        task = _typo(r, task)

    benign = theme.id == "other"
    n_attack_turns = n_turns - (len(humans) - 1)
    kinds = _outcomes(r, n_attack_turns, rating, mtype, benign)
    replies = [r.choice(NEUTRAL_REPLIES).format(topic=sub.topic)] * (len(humans) - 1)
    used: set[str] = set()
    for k, kind_k in enumerate(kinds):
        replies.append(_reply(r, kind_k, sub, theme, mtype, slots, used))
        if k + 1 < len(kinds):
            pool = V.AFTER_COMPLY if kind_k in ("comply", "partial") else V.PUSHES
            for _ in range(3):  # people rarely send the same line twice in a row
                follow = (r.choice(sub.more) if r.random() < 0.5 else r.choice(pool)).format_map(slots)
                if follow != humans[-1]:
                    break
            humans.append(follow)

    lower = r.random() < lower_p
    curly = r.random() < 0.6
    wide = r.random() < 0.4
    parts = []
    for human, reply in zip(humans, replies):
        if curly:
            reply = reply.replace("'", "\u2019")
        if wide:
            reply = reply.replace(". ", ".  ")
        parts.append(f"\n\nHuman: {_style_human(r, human, lower, typo_p)}\n\nAssistant: {reply}")
    return task, "".join(parts)


def _atomic_write(path: Path, write) -> None:
    """Call ``write(binary_file)`` on a temp file beside ``path``, then move it over ``path``."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
