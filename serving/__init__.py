"""The Flask dashboard API over the curated Delta tables (``serving.app:create_app``)."""
