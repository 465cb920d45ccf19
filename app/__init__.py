"""PWSIM Service: privacy-weighted, differentially private synthetic tabular data."""

__version__ = "0.1.0"
