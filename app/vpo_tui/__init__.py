"""vpo-tui: apply a media policy to whole folders of video files, safely."""

__version__ = "0.1.0"
