"""Chat service: the recruiter's assistant, grounded in the org's CRM data."""
