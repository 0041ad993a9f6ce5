"""Developer tooling: the local no-Docker stack, the demo, test and benchmark harnesses."""
