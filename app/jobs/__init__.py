"""Synthesis jobs: idempotent creation, the status machine, leases, the runner and the reaper."""
