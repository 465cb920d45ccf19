"""The privacy-budget ledger: one budget per dataset, append-only hash-chained entries."""
