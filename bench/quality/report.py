"""Markdown for bench/results/quality.md from the harness's results dict (bench/quality/__main__.py)."""

from __future__ import annotations

from bench.quality.rewrites import STYLES

_TARGET_TEXT = {
    "macro_intent": ("macro theme accuracy with the intent text (plain requests)", ">="),
    "macro_prompt": ("macro theme accuracy from the attack prompt alone, mean over rewrite styles", ">="),
    "other_or_review": ("largest share `other` or needs-review on a harmful set (any style, mode)", "<="),
    "noise": ("largest cluster noise share (real sets and hh-rlhf)", "<="),
    "seed_ari": ("smallest seed-to-seed ARI of the clusters", ">="),
}


def _f(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def render(r: dict) -> str:
    lines = [
        "# Theme and cluster quality on real red-team sets",
        "",
        f"`python -m bench.quality` (`make quality`) at commit `{r.get('commit')}`, {r.get('finished_at')}, "
        f"{r.get('seconds')} s. Every figure is read from a database published by the real ETL on a CSV of the set "
        "(`--map attack_text=…[,task_description=…]`). The assigner's training corpus contains none of these sets: "
        "each is held out. Method and limits: docs/taxonomy.md.",
        "",
        "## Targets",
        "",
        "| measure | result | target | met |",
        "|---|---|---|---|",
    ]
    s = r.get("summary", {})
    for key, target in r["targets"].items():
        if key not in s:
            continue
        text, op = _TARGET_TEXT[key]
        met = s[key] >= target if op == ">=" else s[key] <= target
        lines.append(f"| {text} | {s[key]:.3f} | {op} {target} | {'yes' if met else '**no**'} |")
    if "macro_prompt_worst_style" in s:
        lines.append(f"| (worst single set × style, prompt alone) | {s['macro_prompt_worst_style']:.3f} | — | — |")
        lines.append(f"| (intent text, mean over all rewrite styles) | {s['macro_intent_all_styles']:.3f} | — | — |")
    styles = [st for st in STYLES if st in r.get("styles", STYLES)]
    for mode in ("intent", "prompt"):
        lines += ["", f"## Macro theme accuracy — {mode} mode", "",
                  ("intent: the plain request is given as `task_description`, the rewrite as `attack_text`."
                   if mode == "intent" else "prompt: only the rewritten request, as `attack_text`."), "",
                  "| set | " + " | ".join(styles) + " |", "|---|" + "---|" * len(styles)]
        for name, res in r["sets"].items():
            cells = [_f(res["runs"].get(f"{st}/{mode}", {}).get("macro_accuracy")) for st in styles]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "## Per source category (plain requests, prompt mode)", "",
              "| set | category | accuracy | most frequent themes |", "|---|---|---|---|"]
    for name, res in r["sets"].items():
        m = res["runs"].get("plain/prompt")
        if not m:
            continue
        for cat, acc in m["per_category"].items():
            top = ", ".join(f"{t} {n}" for t, n in list(m["confusion"][cat].items())[:4])
            lines.append(f"| {name} | {cat} | {acc:.3f} | {top} |")
    lines += ["", "## Abstention, calibration and provenance (plain requests, prompt mode)", "",
              "| set | accuracy | `other` | needs review | accuracy when confident | ECE | theme sources |",
              "|---|---|---|---|---|---|---|"]
    for name, res in r["sets"].items():
        m = res["runs"].get("plain/prompt")
        if m:
            lines.append(f"| {name} | {m['accuracy']:.3f} | {m['other_share']:.3f} | {m['review_share']:.3f} | "
                         f"{_f(m['accuracy_confident'])} | {m['ece']:.3f} | {m['theme_sources']} |")
    lines += ["", "## Clusters (plain requests; seeds 0 and 1)", "",
              "| set | rows | clusters | noise | weak members | seed ARI | silhouette (cosine) | NMI vs category |",
              "|---|---|---|---|---|---|---|---|"]
    for name, c in r.get("clusters", {}).items():
        lines.append(f"| {name} | {c['n']} | {c['n_clusters']} | {c['noise_share']:.3f} | "
                     f"{c['weak_member_share']:.3f} | {c['seed_ari']:.3f} | {_f(c['silhouette_cosine'])} | "
                     f"{_f(c.get('nmi_vs_category'))} |")
    if "hh-rlhf" in r.get("clusters", {}):
        c = r["clusters"]["hh-rlhf"]
        lines += ["", f"hh-rlhf harmless-base first turns: `other` {c['other_share']:.3f}, "
                      f"needs review {c['review_share']:.3f} (mostly benign or vague requests; no labels)."]
    return "\n".join(lines) + "\n"
