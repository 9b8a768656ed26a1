"""Benchmarks (not tests): ``python -m bench`` measures the ETL against the embedding floor and BERTopic.

Each measurement runs in a fresh child process (``bench.child``) that prints one JSON object; the parent
(``bench.suite``) schedules them, keeps the generated datasets under ``bench/results/tmp/`` and writes
``bench/results/latest.json`` and ``latest.md`` (``bench.report``). Numbers never make the bench fail.
See docs/performance.md.
"""
