"""HTML pages served by the API app: the public metrics page and the admin dashboard."""
