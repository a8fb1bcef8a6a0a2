"""The one exception type users see.

Every failure a user can cause (bad path, unreadable video, nobody in the video, unwritable output)
is raised as :class:`CaptureError` carrying one plain sentence. The CLI prints that sentence on
stderr and exits non-zero; anything else is a bug and keeps its traceback.
"""


class CaptureError(Exception):
    """A failure caused by the input or the environment, explained in one sentence."""
