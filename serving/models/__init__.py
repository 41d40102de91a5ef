"""Pydantic models of request parameters and responses."""
