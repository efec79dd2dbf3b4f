"""Run configuration: paths, periods, the typed RunConfig read from one YAML file."""
