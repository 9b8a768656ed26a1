-- grain: one row per attack inside the caller's filters; the columns of the `attacks` table (analyst
-- corrections applied, see below) and a few more, with `success` re-derived from `rating` when
-- $success_threshold is set (rows without a rating, or with an analyst's verdict, keep their own `success`). Every parameter is bound by the caller (sql.filters.Filters.params()); NULL = no filter.
--   $model_sizes, $model_types, $models, $themes, $cluster_ids   varchar[]: exact values (cluster ids as text)
--   $categories, $attack_methods, $campaigns, $source_files   varchar[]: exact values of the source's harm
--                         label / attack method / campaign / input file
--   $needs_review         true = only attacks whose theme needs review, false = only the others (null = not)
--   $red_team_pool        'upwork' | 'mturk' (any other value matches nothing)
--   $success_threshold    0-4 rating at or above which an attack counts as a success
--   $harmlessness_min, $harmlessness_max   inclusive range; rows without harmlessness drop out when set
--   $text_all, $text_none varchar[]: search terms (sql/search.py) every attack in scope contains / none contains,
--                         case-insensitive, in the attack's task, attack text, response or transcript (the
--                         attack_search table); no wildcards
--   $created_from, $created_before   timestamp: created_at >= $created_from and < $created_before (UTC;
--                         Filters turns inclusive days / moments into these); rows without created_at drop out
--   $include_excluded     true = keep the attacks an analyst excluded (only to count them); null = drop them
-- Analyst corrections (annotations/overlay.py loads them into rtr_annotations.main.*, docs/annotations.md)
-- apply first, in source_attacks: an attack's own theme, else its cluster's corrected theme (theme_source
-- 'analyst'); the analyst's success verdict (success_original keeps the published value); merged clusters take
-- their final cluster's id and label; excluded attacks leave. Extra columns: theme_original, success_original,
-- success_corrected, cluster_id_original, cluster_corrected, exclusion, analyst_note.
with

source_attacks as (
    select
        a.* replace (
            coalesce(ac.theme, cc.theme, a.theme) as theme,
            case when coalesce(ac.theme, cc.theme) is not null then 'analyst' else a.theme_source end as theme_source,
            case when coalesce(ac.theme, cc.theme) is not null then 1.0 else a.theme_confidence end
                as theme_confidence,
            case when coalesce(ac.theme, cc.theme) is not null then false else a.needs_review end as needs_review,
            coalesce(ac.success, a.success) as success,
            coalesce(cc.merged_into, a.cluster_id) as cluster_id,
            case
                when cc.merged_into is not null then coalesce(cc.target_label, target.label, a.cluster_label)
                else coalesce(cc.label, a.cluster_label)
            end as cluster_label
        ),
        a.theme as theme_original,
        a.success as success_original,
        ac.success is not null as success_corrected,
        a.cluster_id as cluster_id_original,
        cc.cluster_id is not null as cluster_corrected,
        ac.exclusion,
        ac.note as analyst_note
    from attacks as a
    left join rtr_annotations.main.attack_corrections as ac on ac.attack_id = a.attack_id
    left join rtr_annotations.main.cluster_corrections as cc on cc.cluster_id = a.cluster_id
    left join clusters as target on target.cluster_id = cc.merged_into
    where ac.exclusion is null or $include_excluded::boolean
),

filtered as (
    select *
    from source_attacks
    where
        ($model_sizes::varchar[] is null or list_contains($model_sizes::varchar[], model_size))
        and ($model_types::varchar[] is null or list_contains($model_types::varchar[], model_type))
        and ($models::varchar[] is null or list_contains($models::varchar[], model))
        and ($themes::varchar[] is null or list_contains($themes::varchar[], theme))
        and ($cluster_ids::varchar[] is null or list_contains($cluster_ids::varchar[], cast(cluster_id as varchar)))
        and ($categories::varchar[] is null or list_contains($categories::varchar[], category))
        and ($attack_methods::varchar[] is null or list_contains($attack_methods::varchar[], attack_method))
        and ($campaigns::varchar[] is null or list_contains($campaigns::varchar[], campaign))
        and ($source_files::varchar[] is null or list_contains($source_files::varchar[], source_file))
        and ($needs_review::boolean is null or coalesce(needs_review, false) = $needs_review::boolean)
        and (
            $red_team_pool::varchar is null
            or is_upworker = ($red_team_pool::varchar = 'upwork') and $red_team_pool::varchar in ('upwork', 'mturk')
        )
        and ($harmlessness_min::double is null or harmlessness >= $harmlessness_min::double)
        and ($harmlessness_max::double is null or harmlessness <= $harmlessness_max::double)
        and (
            ($text_all::varchar[] is null and $text_none::varchar[] is null)
            or attack_id in (
                select s.attack_id
                from attack_search as s
                where
                    -- the first term (the longest: sql/search.py) alone first, so the others only scan its rows
                    ($text_all::varchar[] is null or (
                        contains(s.search_text, lower(($text_all::varchar[])[1]))
                        and coalesce(list_bool_and(
                            [contains(s.search_text, lower(w)) for w in ($text_all::varchar[])[2:]]), true)
                    ))
                    and ($text_none::varchar[] is null
                        or not list_bool_or([contains(s.search_text, lower(w)) for w in $text_none::varchar[]]))
            )
        )
        and (
            ($created_from::timestamp is null or created_at >= $created_from::timestamp)
            and ($created_before::timestamp is null or created_at < $created_before::timestamp)
        )
),

final as (
    select
        * replace (
            case
                when success_corrected then success
                when $success_threshold::double is not null and rating is not null
                    then rating >= $success_threshold::double
                else success
            end as success
        )
    from filtered
)

select * from final
