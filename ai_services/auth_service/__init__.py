"""Auth service: users, orgs, roles, API keys and tokens."""
