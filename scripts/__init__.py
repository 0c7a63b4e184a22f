"""Developer scripts that are not part of the package (robustness checks)."""
