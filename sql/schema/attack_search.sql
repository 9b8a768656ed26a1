-- grain: one row per attack; the text the sidebar's search looks in (sql/search.py), filled at build time by
-- etl.store.write_build from sql/queries/attack_search.sql so that no search lowercases text on the fly.
create table attack_search (
    attack_id varchar primary key,
    search_text varchar not null  -- lowercased task, attack text, response, transcript; whitespace folded
)
