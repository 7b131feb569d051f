"""mbphase: phase transitions in the mini-batch size of two-layer networks."""

__version__ = "0.1.0"
