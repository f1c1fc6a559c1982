"""`pgtui serve`: the playground served to browsers (``server.py``), one locked-down
session per tab (``sessions.py``, ``pgtui/lockdown.py``)."""
