"""The protocol core: state and rules of Multi-Collateral Dai in float units (pure numpy, no mesa)."""
