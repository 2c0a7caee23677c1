"""A file-process job as the processing code sees it: the validated payload, and its progress in stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

Report = Callable[[float], None]  # percent 0-100 (the job's ProgressReporter)


@dataclass(frozen=True)
class ProcessRequest:
    memo_id: str
    source_key: str
    mime_type: str
    operation: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ProcessRequest:
        """From a payload the queue already validated (contract.SCHEMAS)."""
        return cls(memo_id=payload["fileId"], source_key=payload["s3Key"], mime_type=payload["mimeType"],
                   operation=payload["operation"], options=dict(payload.get("options") or {}))


class StageProgress:
    """One stage of a job mapped onto its slice of the job's 0-100 %, so each stage reports 0..1 of its own work."""

    def __init__(self, report: Report, start: float, end: float) -> None:
        self._report, self.start, self.end = report, start, end

    def __call__(self, fraction: float) -> None:
        self._report(self.start + (self.end - self.start) * min(1.0, max(0.0, fraction)))

    def frames(self, done: int, total: int) -> None:
        """For callbacks of the form (done, expected); `expected` may be 0 when a format does not say."""
        self(done / total if total > 0 else 0.0)

    def split(self, share: float) -> tuple[StageProgress, StageProgress]:
        """This stage as two consecutive stages, the first taking `share` (0..1) of it."""
        middle = self.start + (self.end - self.start) * share
        return StageProgress(self._report, self.start, middle), StageProgress(self._report, middle, self.end)
