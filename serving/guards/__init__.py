"""The guards of seed 003, applied to every route."""
