"""pgtui: a terminal playground for policy-gradient reinforcement learning."""

__version__ = "0.1.0"
