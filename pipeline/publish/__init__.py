"""A run's files: the mart catalog, tables, Excel pack, disclosure control, maps, manifest."""
