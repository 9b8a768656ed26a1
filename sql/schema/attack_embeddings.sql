-- grain: one row per attack: the sentence embedding the map and the clusters were computed from (etl/embed.py:
-- L2-normalised, float32, dimension of the embedding model: 384 for the default). Written at build time (full and
-- incremental builds; an unchanged-input rerun copies the build); read by sql/similar.py for "similar attacks".
create table attack_embeddings (
    attack_id varchar primary key,
    vector float[] not null
)
