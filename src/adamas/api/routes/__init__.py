"""The service's routes, one module per group, each exposing ``router`` (listed in ``adamas.api.app``)."""
