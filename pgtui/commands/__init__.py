"""What each command does, apart from the command line that calls it (``cli.py``)."""


class UsageError(Exception):
    """A bad command line; the message is one line."""
