"""Looma CRM core: talents, jobs, companies, projects and the hiring pipeline."""
