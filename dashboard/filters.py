"""The global filters: sidebar widgets, mirrored in the URL query string.

The widgets start from the URL (``?model_sizes=52B&model_types=rlhf…``, the format of
``sql.filters.Filters.to_query``), so a filtered view can be shared as a link and survives a reload; after
every run the URL is rewritten from the widgets. Values in the URL that the database does not have are
dropped (a hand-edited link never breaks the page).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from dashboard import data
from etl.domain import DEFAULT_SUCCESS_THRESHOLD
from sql.filters import DATE_FIELDS, FLAG_FIELDS, LIST_FIELDS, NUMBER_FIELDS, RED_TEAM_POOLS, Filters
from sql.search import MAX_TERMS

FILTER_KEYS = (*LIST_FIELDS, *NUMBER_FIELDS, *FLAG_FIELDS, *DATE_FIELDS, "red_team_pool", "text")
_STATE = "_redteam_risk_filters"
_PREFIX = "filter_"  # widget keys: filter_<Filters field>
POOL_CHOICES = ("both", *RED_TEAM_POOLS)
SEARCH_HELP = ("Searches the task, the attack, the response and the whole transcript, ignoring case. "
               "Several words: all must occur, anywhere. \"Quoted words\" must occur together as a phrase. "
               "-word or -\"a phrase\" leaves out the attacks that contain it.")
# needs_review filter: radio choice -> Filters.needs_review
REVIEW_CHOICES = {"all": None, "needs_review": True, "confident": False}
REVIEW_LABELS = {"all": "All", "needs_review": "Needs review", "confident": "Confident"}


def current() -> Filters:
    """The filters of this run (set by ``sidebar``; no filter before it has run)."""
    return st.session_state.get(_STATE, Filters())


def build_threshold() -> float:
    """The success threshold the database was built with (``runs.parameters``), else the default 3."""
    run = data.latest_run() or {}
    try:
        value = (run.get("parameters") or {}).get("success_threshold")
        return float(value) if value is not None else DEFAULT_SUCCESS_THRESHOLD
    except (TypeError, ValueError):
        return DEFAULT_SUCCESS_THRESHOLD


def _from_url() -> Filters:
    return Filters.from_query({k: st.query_params.get_all(k) for k in st.query_params if k in FILTER_KEYS})


def _slider_range(bounds: tuple[float, float]) -> tuple[float, float]:
    import math

    return math.floor(bounds[0] * 10) / 10, math.ceil(bounds[1] * 10) / 10


def _reset() -> None:
    for key in list(st.session_state.keys()):
        if str(key).startswith(_PREFIX):
            del st.session_state[key]
    for key in FILTER_KEYS:
        if key in st.query_params:
            del st.query_params[key]


def sidebar(options: data.FilterOptions) -> Filters:
    """Render the filter widgets in the sidebar and return the active ``Filters`` (also via ``current()``).

    Widget defaults come from the URL on every run; a widget that already has a state keeps it, and the URL
    is rewritten from the widgets at the end, so the two never disagree.
    """
    default_threshold = build_threshold()
    url = _from_url()
    sb = st.sidebar
    sb.header("Filters")
    sizes = sb.multiselect("Model size", options.model_sizes, key=_PREFIX + "model_sizes", placeholder="All sizes",
                           default=[v for v in url.model_sizes if v in options.model_sizes])
    types: list[str] = []
    if options.model_types:  # tool outputs name no intervention: no empty widget
        types = sb.multiselect("Intervention (model type)", options.model_types, key=_PREFIX + "model_types",
                               placeholder="All model types",
                               default=[v for v in url.model_types if v in options.model_types])
    models: list[str] = []
    if len(options.models) > len(options.model_sizes) * max(len(options.model_types), 1) or not options.model_types:
        # Generic data: the free-text model name is the only model key worth filtering on.
        models = sb.multiselect("Model", options.models, key=_PREFIX + "models", placeholder="All models",
                                default=[v for v in url.models if v in options.models])
    themes = sb.multiselect("Harm theme", list(options.themes), key=_PREFIX + "themes",
                            format_func=lambda t: options.themes.get(t, t), placeholder="All themes",
                            default=[v for v in url.themes if v in options.themes])
    clusters = sb.multiselect("Cluster", list(options.clusters), key=_PREFIX + "cluster_ids",
                              format_func=lambda c: f"{c}: {options.clusters.get(c, '')}", placeholder="All clusters",
                              default=[v for v in url.cluster_ids if v in options.clusters])
    categories: list[str] = []
    if options.categories:
        categories = sb.multiselect("Source category", options.categories, key=_PREFIX + "categories",
                                    placeholder="All source categories",
                                    help="The harm label the source tool itself gave the attack, verbatim.",
                                    default=[v for v in url.categories if v in options.categories])
    methods: list[str] = []
    if options.attack_methods:
        methods = sb.multiselect("Attack method", options.attack_methods, key=_PREFIX + "attack_methods",
                                 placeholder="All attack methods",
                                 default=[v for v in url.attack_methods if v in options.attack_methods])
    review = "all"
    if options.has_review:
        start = next(k for k, v in REVIEW_CHOICES.items() if v == url.needs_review)
        review = sb.radio("Theme confidence", tuple(REVIEW_CHOICES), key=_PREFIX + "needs_review", horizontal=True,
                          format_func=REVIEW_LABELS.get, index=tuple(REVIEW_CHOICES).index(start),
                          help="Needs review: the model's confidence in the theme was below the review threshold, "
                               "so the theme is only a best guess.")
    pool = "both"
    if options.has_pools:
        pool = sb.radio("Red-team pool", POOL_CHOICES, key=_PREFIX + "red_team_pool", horizontal=True,
                        format_func=lambda p: RED_TEAM_POOLS.get(p, "Both"),
                        index=POOL_CHOICES.index(url.red_team_pool) if url.red_team_pool in RED_TEAM_POOLS else 0)
    threshold = None
    if options.has_rating:
        start = url.success_threshold if url.success_threshold is not None else default_threshold
        value = sb.slider("Success = rating at least", 0.0, 4.0, value=min(max(round(start * 2) / 2, 0.0), 4.0),
                          step=0.5, key=_PREFIX + "success_threshold",
                          help="An attack counts as a success when the red-team member rated it at least this "
                               f"(0–4). The database was built with {default_threshold:g}.")
        threshold = None if value == default_threshold else value
    h_min = h_max = None
    if options.harmlessness_range is not None:
        lo, hi = _slider_range(options.harmlessness_range)
        if hi > lo:
            start_lo = min(max(url.harmlessness_min, lo), hi) if url.harmlessness_min is not None else lo
            start_hi = max(min(url.harmlessness_max, hi), lo) if url.harmlessness_max is not None else hi
            chosen = sb.slider("Harmlessness range", lo, hi, value=(start_lo, start_hi), step=0.1,
                               key=_PREFIX + "harmlessness",
                               help="Preference-model harmlessness of the transcript; lower = more harmful.")
            h_min = chosen[0] if chosen[0] > lo else None
            h_max = chosen[1] if chosen[1] < hi else None
    created_from, created_to = _created_range(sb, options, url)
    text = sb.text_input("Search text", key=_PREFIX + "text", placeholder='words, "a phrase", -exclude',
                         max_chars=200, value=(url.text or "")[:200], help=SEARCH_HELP)
    dropped = Filters(text=text or None).search.dropped
    if dropped:
        sb.caption(f"The search uses its first {MAX_TERMS} terms; {dropped} more were ignored.")
    sb.button("Reset filters", on_click=_reset)
    filters = Filters(
        model_sizes=tuple(sizes), model_types=tuple(types), models=tuple(models), themes=tuple(themes),
        cluster_ids=tuple(clusters), categories=tuple(categories), attack_methods=tuple(methods),
        needs_review=REVIEW_CHOICES[review], red_team_pool=None if pool == "both" else pool,
        success_threshold=threshold, harmlessness_min=h_min, harmlessness_max=h_max, text=text or None,
        created_from=created_from, created_to=created_to,
    )
    st.session_state[_STATE] = filters
    _write_url(filters)
    return filters


def _created_range(sb, options: data.FilterOptions, url: Filters) -> tuple[str | None, str | None]:
    """The "Created" day-range picker, shown when the attacks span more than one UTC day; returns the
    ``created_from`` / ``created_to`` bounds (None where the range reaches the first or last day). A bound from
    the URL with a time of day is shown as its day; a half-picked range (one day clicked) filters nothing yet."""
    if options.created_range is None:
        return None, None
    first, last = options.created_range[0].date(), options.created_range[1].date()
    if last <= first:
        return None, None

    def day(bound: str | None, default: date) -> date:
        return min(max(date.fromisoformat(bound[:10]), first), last) if bound else default

    start = (day(url.created_from, first), day(url.created_to, last))
    chosen = sb.date_input("Created (UTC days)", value=start if start[0] <= start[1] else (first, last),
                           min_value=first, max_value=last, key=_PREFIX + "created", format="YYYY-MM-DD",
                           help="Only attacks created on these days (UTC), first and last day included.")
    if not isinstance(chosen, (tuple, list)) or len(chosen) != 2:
        return None, None
    low, high = chosen
    return (low.isoformat() if low > first else None), (high.isoformat() if high < last else None)


def _write_url(filters: Filters) -> None:
    wanted = filters.to_query()
    for key in FILTER_KEYS:
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        have = st.query_params.get_all(key)
        if have != (value if isinstance(value, list) else [value]):
            st.query_params[key] = value


def describe(filters: Filters, options: data.FilterOptions | None = None) -> str:
    """The active filters as one line, with theme and cluster display names."""
    if options is None:
        return filters.describe()
    return filters.describe(options.themes, options.clusters)
