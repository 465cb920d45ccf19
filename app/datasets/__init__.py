"""Datasets: uploads, their stored source data and versioned schemas."""
