"""redteam-risk ETL: ingest → validate → embed → reduce → cluster → label → themes → metrics → publish.

Heavy imports (torch, umap, hdbscan) live only inside the stage modules that need them.
"""

__version__ = "0.1.0"
