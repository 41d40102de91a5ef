"""Table contracts as code: raw (bronze, PII) and curated (published) schemas.

The modules here import no Spark at module level, so the API process and
researchers' tools can use the same definitions the jobs write with.
"""
