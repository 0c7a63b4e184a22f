"""Agents: decisions only. They read protocol state and act through protocol calls."""
