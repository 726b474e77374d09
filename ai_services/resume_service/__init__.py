"""Resume service: parses resumes into structured talents."""
