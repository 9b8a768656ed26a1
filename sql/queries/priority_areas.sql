-- grain: one row per priority area of each kind: area_kind = 'theme' (every theme with attacks in scope)
-- or 'cluster' (every cluster with attacks in scope except -1, unclustered). Components, each 0-1
-- (docs/metrics.md#priority-areas); "max" is over the areas of the same kind:
--   success_score    = success_ci_low / max success_ci_low         (Wilson lower bound of the success rate)
--   volume_score     = share_of_attacks / max share_of_attacks
--   severity_score   = (severity - 1) / 4, taxonomy severity 1-5    (0.5 when the theme has no severity)
--   resistance_score = resistance_ci_low / max resistance_ci_low    (Wilson lower bound of the area's success
--                      rate on the strongest model cell, see strongest_model_cell; 0 without attacks there)
--   score = sum(w * component) / sum(w), in 0-1; rank 1 = highest score
-- needs_review_share: share of the area's attacks whose theme is only the model's low-confidence guess
-- (not a component; sql.priority warns when it is above LOW_CONFIDENCE_SHARE)
-- Parameters: $w_success, $w_volume, $w_severity, $w_resistance (weights; NULL or negative counts as 0)
with

theme_cells as (
    select * from metric_cells where grain = 'theme' and theme is not null
),

theme_model_cells as (
    select * from metric_cells where grain = 'theme_model'
),

cluster_cells as (
    select * from metric_cells where grain = 'cluster' and cluster_id <> -1  -- also drops a null cluster_id
),

cluster_model_cells as (
    select * from metric_cells where grain = 'cluster_model' and cluster_id <> -1
),

strongest as (
    select * from strongest_model_cell
),

taxonomy as (
    select theme, display_name, severity from themes
),

cluster_names as (
    select cluster_id, label, theme from clusters
),

weights as (
    select
        greatest(coalesce($w_success::double, 0), 0) as w_success,
        greatest(coalesce($w_volume::double, 0), 0) as w_volume,
        greatest(coalesce($w_severity::double, 0), 0) as w_severity,
        greatest(coalesce($w_resistance::double, 0), 0) as w_resistance
),

-- every area (a theme, or a cluster other than -1) with its name, severity and cell; area_id keys it within
-- its kind, as it keys the area's cells on single models below
area_cells as (
    select
        'theme' as area_kind,
        cells.theme as area_id,
        cells.theme,
        cast(null as integer) as cluster_id,
        coalesce(taxonomy.display_name, cells.theme) as area_name,
        taxonomy.severity,
        cells.* exclude (theme, cluster_id)
    from theme_cells as cells
    left join taxonomy on taxonomy.theme = cells.theme
    union all by name
    select
        'cluster' as area_kind,
        cast(cells.cluster_id as varchar) as area_id,
        cluster_names.theme,
        cells.cluster_id,
        coalesce(cluster_names.label, 'cluster ' || cells.cluster_id) as area_name,
        taxonomy.severity,
        cells.* exclude (theme, cluster_id)
    from cluster_cells as cells
    left join cluster_names on cluster_names.cluster_id = cells.cluster_id
    left join taxonomy on taxonomy.theme = cluster_names.theme
),

area_model_cells as (
    select 'theme' as area_kind, theme as area_id, * from theme_model_cells
    union all by name
    select 'cluster' as area_kind, cast(cluster_id as varchar) as area_id, * from cluster_model_cells
),

areas as (
    select
        cells.area_kind,
        cells.theme,
        cells.cluster_id,
        cells.area_name,
        cells.severity,
        cells.n_attacks,
        cells.share_of_attacks,
        cells.n_success,
        cells.success_rate,
        cells.success_ci_low,
        cells.success_ci_high,
        cells.mean_rating,
        cells.mean_harmlessness,
        cells.tail_share,
        cells.n_needs_review,
        cells.needs_review_share,
        strongest.cell_label as resistance_cell,
        strongest.model_type as resistance_model_type,
        strongest.model_size as resistance_model_size,
        on_strongest.n_attacks as resistance_n_attacks,
        on_strongest.n_success as resistance_n_success,
        on_strongest.success_rate as resistance_success_rate,
        on_strongest.success_ci_low as resistance_ci_low,
        on_strongest.success_ci_high as resistance_ci_high
    from area_cells as cells
    left join strongest on true
    left join area_model_cells as on_strongest
        on strongest.cell_label is not null
        and on_strongest.area_kind = cells.area_kind
        and on_strongest.area_id = cells.area_id
        and on_strongest.model_type is not distinct from strongest.model_type
        and on_strongest.model_size is not distinct from strongest.model_size
),

components as (
    select
        areas.*,
        coalesce(areas.success_ci_low / nullif(max(areas.success_ci_low) over same_kind, 0), 0) as success_score,
        coalesce(areas.share_of_attacks / nullif(max(areas.share_of_attacks) over same_kind, 0), 0) as volume_score,
        case
            when areas.severity is null then 0.5  -- greatest/least skip nulls, so test for it first
            else (least(greatest(areas.severity, 1), 5) - 1) / 4.0
        end as severity_score,
        coalesce(areas.resistance_ci_low / nullif(max(areas.resistance_ci_low) over same_kind, 0), 0)
            as resistance_score,
        weights.*
    from areas
    cross join weights
    window same_kind as (partition by areas.area_kind)
),

scored as (
    select
        components.*,
        coalesce(
            (
                w_success * success_score
                + w_volume * volume_score
                + w_severity * severity_score
                + w_resistance * resistance_score
            ) / nullif(w_success + w_volume + w_severity + w_resistance, 0),
            0
        ) as score
    from components
),

final as (
    select
        area_kind,
        row_number() over (
            partition by area_kind
            order by score desc, success_ci_low desc nulls last, n_attacks desc, area_name
        ) as rank,
        theme,
        cluster_id,
        area_name,
        score,
        success_score,
        volume_score,
        severity_score,
        resistance_score,
        w_success,
        w_volume,
        w_severity,
        w_resistance,
        severity,
        n_attacks,
        share_of_attacks,
        n_success,
        success_rate,
        success_ci_low,
        success_ci_high,
        mean_rating,
        mean_harmlessness,
        tail_share,
        n_needs_review,
        needs_review_share,
        resistance_cell,
        resistance_model_type,
        resistance_model_size,
        resistance_n_attacks,
        resistance_n_success,
        resistance_success_rate,
        resistance_ci_low,
        resistance_ci_high
    from scored
)

select * from final
order by area_kind desc, rank
