"""ntkcompanion."""
