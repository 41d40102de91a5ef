"""Spark batch jobs: raw learner-event Delta tables in, curated private Delta tables out."""
