"""Where a plan runs: a local process or a Docker container."""
