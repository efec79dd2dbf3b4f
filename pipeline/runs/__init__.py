"""Each run kind's steps, defined once, and the plain runner that executes them without Prefect."""
