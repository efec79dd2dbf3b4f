"""Builders that more than one test file uses: a persistent Prefect server, run configs."""
