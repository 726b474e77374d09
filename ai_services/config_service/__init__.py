"""Config service: versioned, hot-reloaded configuration."""
