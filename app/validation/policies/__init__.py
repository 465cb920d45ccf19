"""Built-in validation policies (YAML documents; see ``app.validation.policy``)."""
