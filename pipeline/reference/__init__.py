"""Reference files -> ref_* tables: boundaries, lookups, populations, areas."""
