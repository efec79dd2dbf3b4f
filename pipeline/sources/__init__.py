"""Readers: each input kind is turned into raw DuckDB tables with lineage columns."""
