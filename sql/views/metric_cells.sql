-- grain: one row per group of attacks at each grouping the metric views report on. `grain` names the
-- grouping and the key columns outside it are null:
--   'all' (everything) · 'theme' · 'cluster' (cluster_id) · 'model' (model_type x model_size)
--   'model_type' · 'theme_model' (theme x model_type x model_size) · 'theme_model_type' (theme x model_type)
--   'cluster_model' (cluster_id x model_type x model_size)
--   'category' (the source's own harm label) · 'theme_attack_method' · 'theme_campaign'
--   'category_model_type' · 'category_attack_method' · 'category_campaign'
-- model_type is the intervention; where an attack has none (tool outputs: only a target model name) it is
-- the model name, so every model grouping uses what the data has (docs/metrics.md#models-without-an-intervention).
-- Every metric formula of docs/metrics.md is written here, once; the metric views select from this.
-- Records flagged is_duplicate are left out so a record loaded twice is counted once.
with

source_attacks as (
    select * from attacks
),

settings as (
    select * from metric_settings
),

attack_facts as (
    select
        a.theme,
        a.cluster_id,
        coalesce(a.model_type, a.model) as model_type,
        a.model_size,
        a.model_size_b,
        a.attack_method,
        a.campaign,
        a.category,
        a.rating,
        a.success,
        a.harmlessness,
        a.harmlessness < s.tail_threshold as is_tail,
        coalesce(a.needs_review, false) as needs_review
    from source_attacks as a
    cross join settings as s
    where not a.is_duplicate
),

grouped as (
    select
        -- bit set = column rolled up; order: theme, cluster_id, model_type, model_size, model_size_b,
        -- attack_method, campaign, category (most significant first)
        case grouping(theme, cluster_id, model_type, model_size, model_size_b, attack_method, campaign, category)
            when 255 then 'all'
            when 127 then 'theme'
            when 191 then 'cluster'
            when 199 then 'model'
            when 223 then 'model_type'
            when 71 then 'theme_model'
            when 95 then 'theme_model_type'
            when 135 then 'cluster_model'
            when 254 then 'category'
            when 123 then 'theme_attack_method'
            when 125 then 'theme_campaign'
            when 222 then 'category_model_type'
            when 250 then 'category_attack_method'
            when 252 then 'category_campaign'
        end as grain,
        theme,
        cluster_id,
        model_type,
        model_size,
        model_size_b,
        attack_method,
        campaign,
        category,
        count(*) as n_attacks,
        count(rating) as n_rated,
        avg(rating) as mean_rating,
        stddev_samp(rating) as sd_rating,
        count(success) as n_judged,
        count(*) filter (where success) as n_success_judged,
        count(harmlessness) as n_scored,
        avg(harmlessness) as mean_harmlessness,
        stddev_samp(harmlessness) as sd_harmlessness,
        count(*) filter (where is_tail) as n_tail,
        count(*) filter (where needs_review) as n_needs_review
    from attack_facts
    group by grouping sets (
        (),
        (theme),
        (cluster_id),
        (model_type, model_size, model_size_b),
        (model_type),
        (theme, model_type, model_size, model_size_b),
        (theme, model_type),
        (cluster_id, model_type, model_size, model_size_b),
        (category),
        (theme, attack_method),
        (theme, campaign),
        (category, model_type),
        (category, attack_method),
        (category, campaign)
    )
),

totals as (
    select n_attacks as n_total from grouped where grain = 'all'
),

-- 97.5 % quantile of Student's t by degrees of freedom: exact for df 1 and 2, the Cornish-Fisher
-- expansion to 1/df^4 above (error below 0.1 % at df = 3, below 1e-5 from df = 10)
t_quantiles as (
    select
        r.df,
        case r.df
            when 1 then 12.706204736174694
            when 2 then 4.302652729749462
            else s.z
                + (s.z ^ 3 + s.z) / (4 * r.df)
                + (5 * s.z ^ 5 + 16 * s.z ^ 3 + 3 * s.z) / (96 * r.df ^ 2)
                + (3 * s.z ^ 7 + 19 * s.z ^ 5 + 17 * s.z ^ 3 - 15 * s.z) / (384 * r.df ^ 3)
                + (79 * s.z ^ 9 + 776 * s.z ^ 7 + 1482 * s.z ^ 5 - 1920 * s.z ^ 3 - 945 * s.z) / (92160 * r.df ^ 4)
        end as t975
    from range(1, greatest((select max(n_attacks) from grouped), 2)) as r(df)
    cross join settings as s
),

rates as (
    select
        g.*,
        g.n_success_judged / nullif(g.n_judged, 0) as p,
        s.z
    from grouped as g
    cross join settings as s
),

final as (
    select
        w.grain,
        w.theme,
        w.cluster_id,
        w.model_type,
        w.model_size,
        w.model_size_b,
        w.attack_method,
        w.campaign,
        w.category,
        w.n_attacks,
        w.n_attacks / nullif(totals.n_total, 0) as share_of_attacks,
        w.mean_rating,
        w.mean_rating - t_rating.t975 * w.sd_rating / sqrt(w.n_rated) as mean_rating_ci_low,
        w.mean_rating + t_rating.t975 * w.sd_rating / sqrt(w.n_rated) as mean_rating_ci_high,
        case when w.n_judged > 0 then w.n_success_judged end as n_success,
        w.p as success_rate,
        -- Wilson score interval (sql/macros; null without success data)
        wilson_low(w.p, w.n_judged, w.z) as success_ci_low,
        wilson_high(w.p, w.n_judged, w.z) as success_ci_high,
        w.mean_harmlessness,
        w.mean_harmlessness - t_harm.t975 * w.sd_harmlessness / sqrt(w.n_scored) as harmlessness_ci_low,
        w.mean_harmlessness + t_harm.t975 * w.sd_harmlessness / sqrt(w.n_scored) as harmlessness_ci_high,
        w.n_tail / nullif(w.n_scored, 0) as tail_share,
        -- share whose theme is only the model's best guess (confidence below the review threshold)
        w.n_needs_review,
        w.n_needs_review / nullif(w.n_attacks, 0) as needs_review_share
    from rates as w
    cross join totals
    left join t_quantiles as t_rating on t_rating.df = w.n_rated - 1
    left join t_quantiles as t_harm on t_harm.df = w.n_scored - 1
)

select * from final
order by grain, theme, cluster_id, model_type, model_size_b, model_size, attack_method, campaign, category
