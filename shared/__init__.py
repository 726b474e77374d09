"""Code every Looma service shares: service base, data access, settings, monitoring.

Nothing in this package imports a service package.
"""
