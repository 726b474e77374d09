"""Metrics, health and logging shared by every service."""
