-- grain: one row per attack inside the caller's filters; the same columns as the `attacks` table, with
-- `success` re-derived from `rating` when $success_threshold is set (rows without a rating keep their own
-- `success`). Every parameter is bound by the caller (sql.filters.Filters.params()); NULL = no filter.
--   $model_sizes, $model_types, $models, $themes, $cluster_ids   varchar[]: exact values (cluster ids as text)
--   $categories, $attack_methods   varchar[]: exact values of the source's harm label / attack method
--   $needs_review         true = only attacks whose theme needs review, false = only the others (null = not)
--   $red_team_pool        'upwork' | 'mturk' (any other value matches nothing)
--   $success_threshold    0-4 rating at or above which an attack counts as a success
--   $harmlessness_min, $harmlessness_max   inclusive range; rows without harmlessness drop out when set
--   $text_all, $text_none varchar[]: search terms (sql/search.py) every attack in scope contains / none contains,
--                         case-insensitive, in the attack's task, attack text, response or transcript (the
--                         attack_search table); no wildcards
with

source_attacks as (
    select * from attacks
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
),

final as (
    select
        * replace (
            case
                when $success_threshold::double is not null and rating is not null
                    then rating >= $success_threshold::double
                else success
            end as success
        )
    from filtered
)

select * from final
