"""The DuckDB build: connections, the model runner, quarantine rules, SQL functions in Python."""
