"""Synthesis jobs: idempotent creation, the status machine, leases, the runner and the reaper.

- ``service``: what the API calls: create (validated, budget reserved, idempotent), get, list, cancel,
  a dataset's current release.
- ``runner``: runs one claimed job (thread pool or Celery worker): lease and heartbeat, progress,
  split -> engine -> gates -> store, the failure paths.
- ``reaper``: settles jobs whose runner died, sends lost dispatches again.
- ``transitions``: the guarded status move and the budget settling the three share.
- ``dispatch``: how a queued job reaches a runner; ``holdout`` and ``gating``: the fit/holdout split
  and the validation gates.
"""
