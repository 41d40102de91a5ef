"""What the endpoints compute, kept apart from HTTP concerns."""
