"""Validation policies as code: uploaded, immutable, versioned documents beside the built-in ones."""
