"""Matching service: ranks talents for jobs and jobs for talents, with explained weights."""
