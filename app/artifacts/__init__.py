"""Released artifacts: content-addressed files and signed manifests."""
