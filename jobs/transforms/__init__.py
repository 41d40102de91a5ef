"""Pure transforms of the curated jobs: ``(PreparedInputs, ReleaseContext) -> DataFrame``."""
