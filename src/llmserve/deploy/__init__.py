"""Renders of a spec for other targets: Kubernetes objects, a Compose file. Pure: spec in, documents out."""
