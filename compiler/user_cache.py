"""The user's cache folder of followup: what is kept between runs because it is slow to make, and can
always be made again (font facts, DOCX font subsets, compiled templates, laid-out PDF parts).

``$XDG_CACHE_HOME/followup``, else ``~/.cache/followup``. Whatever is read from it is checked, and
whatever cannot be read or written there is made again, so a missing, read-only or damaged folder
only costs time.
"""

from __future__ import annotations

import os
from pathlib import Path


def folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "followup"
