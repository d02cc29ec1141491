"""The base of every split error that is the user's to fix (bad option, file or data).

``benchmark.errors`` shows these as one line instead of a traceback.
"""


class SplitError(Exception):
    """A split could not be built because of something the user supplied or can change."""
