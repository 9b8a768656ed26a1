-- grain: one row per cluster that has attacks in scope, including -1 (unclustered)
with

cells as (
    select * from metric_cells where grain = 'cluster'
),

cluster_names as (
    select cluster_id, label, theme from clusters
),

-- fallbacks when the clusters table lacks a cluster: the attacks' own label and most common theme
attack_names as (
    select
        cluster_id,
        mode(cluster_label) as cluster_label,
        mode(theme) as theme
    from attacks
    group by cluster_id
),

taxonomy as (
    select theme, display_name, severity from themes
),

named as (
    select
        cells.cluster_id,
        coalesce(cluster_names.label, attack_names.cluster_label, 'cluster ' || cells.cluster_id) as cluster_label,
        coalesce(cluster_names.theme, attack_names.theme) as theme,
        cells.* exclude (
            grain, theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category
        )
    from cells
    left join cluster_names on cluster_names.cluster_id = cells.cluster_id
    left join attack_names on attack_names.cluster_id is not distinct from cells.cluster_id
),

final as (
    select
        named.cluster_id,
        named.cluster_label,
        named.theme,
        coalesce(taxonomy.display_name, named.theme) as theme_display_name,
        taxonomy.severity,
        named.cluster_id = -1 as is_unclustered,
        named.* exclude (cluster_id, cluster_label, theme)
    from named
    left join taxonomy on taxonomy.theme = named.theme
)

select * from final
order by is_unclustered, n_attacks desc, cluster_id
