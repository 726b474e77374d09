"""Monitor service: fleet health, metrics and alerts."""
