"""Reading curated and ops Delta tables with delta-rs and pyarrow (no JVM)."""
