"""Built-in policies shipped with the package (TOML files read via importlib.resources)."""
