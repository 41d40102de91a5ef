"""The API's guards, applied to every route."""
