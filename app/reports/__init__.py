"""Validation reports: the verdict of a job's gates, kept for released and rejected jobs alike."""
