-- grain: one row per attack: the text a search looks in (table attack_search, written once at publish).
-- task_description, attack_text, response and transcript, lowercased, each run of whitespace folded to one
-- space (so a quoted phrase matches across line breaks), joined by chr(31) (not whitespace, never typed in a
-- search term: sql/search.py splits on it) so that no phrase runs from one field into the next.
select
    attack_id,
    regexp_replace(
        lower(concat_ws(chr(31), task_description, attack_text, response, transcript)), '[\s\pZ]+', ' ', 'g'
    ) as search_text
from attacks
