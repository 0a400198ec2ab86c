"""The refusal every layer above the data raises: an HTTP status and Salesforce's JSON error entry."""

from __future__ import annotations

__all__ = ["ApiError", "not_found"]


class ApiError(Exception):
    """A request Salesforce refuses, answered as ``[{"errorCode": ..., "message": ...}]``.

    :param status: the HTTP status.
    :param error_code: the entry's ``errorCode``.
    :param message: the entry's ``message``.
    :param close: close the connection after the answer (a body left unread, a client too slow).
    """

    def __init__(self, status: int, error_code: str, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.close = close


def not_found() -> ApiError:
    """Salesforce's answer for an unknown or deleted job (and any resource that does not exist)."""
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")
