"""Shared test builders: tiny inputs, the bad-input corpus, real-data configs, a persistent Prefect server, a browser with the network shut. Test modules import these, never each other."""
