"""The `looma` command: run, inspect and migrate the fleet."""
