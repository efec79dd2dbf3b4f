"""What stops a run: the gates (coverage, reconciliation, areas) and the Great Expectations suites."""
