"""One domain error for every refused business write, and the one mapping from its code to an HTTP status.

Services raise ``DomainError`` with a ``Code``; the workspace, the portal and the API answer with
``http_status(code)``: 400 bad input, 403 the role does not allow it, 404 not found or not visible
(alike), 409 not possible in this state or not covered by the allocation.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    INVALID = "invalid"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


HTTP_STATUS: dict[Code, int] = {Code.INVALID: 400, Code.FORBIDDEN: 403, Code.NOT_FOUND: 404, Code.CONFLICT: 409}


class DomainError(Exception):
    """A business write that may not happen now, with every reason in words a person can read."""

    def __init__(self, reason: str | list[str], *, code: Code | str = Code.CONFLICT):
        self.reasons = [str(reason)] if isinstance(reason, str) else [str(r) for r in reason]
        self.code = Code(code)
        super().__init__(" ".join(self.reasons))

    @property
    def status(self) -> int:
        return http_status(self.code)


def http_status(code: Code | str) -> int:
    return HTTP_STATUS[Code(code)]
