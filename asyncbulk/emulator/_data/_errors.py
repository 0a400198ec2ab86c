"""The data layer's errors, below everything that raises them (the store, the plans, the queries)."""

from __future__ import annotations

__all__ = ["HeaderError", "QueryError"]


class QueryError(Exception):
    """A SOQL query the emulator rejects, with Salesforce's error code (``MALFORMED_QUERY``...).

    :param error_code: the ``errorCode`` of the REST error answer.
    :param message: its ``message``.
    """

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


class HeaderError(ValueError):
    """A batch header the job cannot use; the message is the failed job's ``errorMessage``.

    Raised by :meth:`~._org.Org.apply` for a header :meth:`~._org.Org.check_header` would refuse.
    """
