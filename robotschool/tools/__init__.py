"""Dataset tools: validate, split, merge, filter, video, rerender.

Each tool is a plain function returning a small result dataclass and raising
`robotschool.errors.DatasetError` (one line) for bad input, so the CLI can wire it without wrapping.
None of them edits a finished file in place: HDF5 is not crash-safe, so a tool either writes a new file
through `DatasetWriter` (merge, filter, rerender) or edits a copy and `os.replace`s it (split).
"""
from __future__ import annotations

from robotschool.tools.filter import FilterResult, filter_demos
from robotschool.tools.merge import MergeResult, merge
from robotschool.tools.rerender import RerenderResult, rerender
from robotschool.tools.split import SplitResult, split
from robotschool.tools.validate import ValidationReport, validate
from robotschool.tools.video import VideoResult, video

__all__ = [
    "FilterResult", "MergeResult", "RerenderResult", "SplitResult", "ValidationReport", "VideoResult",
    "filter_demos", "merge", "rerender", "split", "validate", "video",
]
