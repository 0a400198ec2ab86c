"""The exceptions asyncbulk raises.

The hierarchy::

    AsyncBulkError
    ├── InputError                  bad input: names the file, line, record and reason
    │   ├── PreflightError          the header does not fit the object (every problem listed)
    │   └── InputChangedError       the input file changed while it was being loaded
    ├── ApiError                    Salesforce answered with an error (status, errorCode, message)
    │   ├── AuthenticationError     401 INVALID_SESSION_ID, or the token endpoint refused
    │   ├── RequestLimitError       403 REQUEST_LIMIT_EXCEEDED
    │   ├── NotFoundError           404 NOT_FOUND (unknown or deleted job)
    │   └── InvalidJobStateError    400 INVALIDJOBSTATE and friends
    ├── TransportError              no usable answer: connection refused or dropped, timeout
    ├── AmbiguousSubmitError        a job may or may not exist; refusing to risk a double load
    ├── AccountingError             succeeded + failed + unprocessed != records read
    └── ResumeError                 the journal does not match the input or the options
        └── UnfinishedLoadError     the same input has an unfinished load: resume it (or start anew)

Bad option values raise :class:`ValueError` (never a subclass of :class:`AsyncBulkError`), naming
the option. No exception message ever contains a credential.
"""

from __future__ import annotations

__all__ = [
    "AccountingError",
    "AmbiguousSubmitError",
    "ApiError",
    "AsyncBulkError",
    "AuthenticationError",
    "InputChangedError",
    "InputError",
    "InvalidJobStateError",
    "NotFoundError",
    "PreflightError",
    "RequestLimitError",
    "ResumeError",
    "TransportError",
    "UnfinishedLoadError",
]


class AsyncBulkError(Exception):
    """Base class of every error asyncbulk raises on purpose."""


class InputError(AsyncBulkError):
    """The input file cannot be loaded as it is; nothing was submitted because of it."""

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        record: int | None = None,
    ) -> None:
        self.reason = reason
        self.path = path
        self.line = line
        self.record = record
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if record is not None:
            where.append(f"record {record}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)


class PreflightError(InputError):
    """The header does not fit the object: unknown fields, fields that cannot be written...

    :param problems: one sentence per problem; the message lists them all.
    """

    def __init__(self, problems: list[str] | tuple[str, ...], *, path: str | None = None) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        reason = (
            f"the header does not fit the object ({count} problem{'s' if count != 1 else ''}; "
            f"nothing was sent): " + "; ".join(self.problems)
        )
        super().__init__(reason, path=path, line=1)


class InputChangedError(InputError):
    """The input file changed while it was being loaded; nothing read after the change was sent."""


class ApiError(AsyncBulkError):
    """Salesforce answered a request with an error status.

    :param status: the HTTP status code.
    :param error_code: Salesforce's ``errorCode`` (``NOT_FOUND``, ``INVALIDJOBSTATE``...), if any.
    :param message: Salesforce's own error text.
    :param job_id: the job the request was about, if any.
    """

    def __init__(
        self,
        status: int,
        error_code: str | None,
        message: str,
        *,
        method: str = "",
        path: str = "",
        job_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.method = method
        self.path = path
        self.job_id = job_id
        parts = [f"HTTP {status}"]
        if method or path:
            parts.append(f"{method} {path}".strip())
        if job_id:
            parts.append(f"job {job_id}")
        code = f"{error_code}: " if error_code else ""
        super().__init__(f"{' '.join(parts)}: {code}{message}")


class AuthenticationError(ApiError):
    """The access token was refused (401) or the OAuth token endpoint said no."""


class RequestLimitError(ApiError):
    """The org's API request limit is used up (403 ``REQUEST_LIMIT_EXCEEDED``)."""


class NotFoundError(ApiError):
    """The job or resource does not exist (404 ``NOT_FOUND``)."""


class InvalidJobStateError(ApiError):
    """The request is not allowed in the job's current state."""


class TransportError(AsyncBulkError):
    """No usable answer: the connection failed or dropped, or the request timed out."""


class AmbiguousSubmitError(AsyncBulkError):
    """A request that creates a job got no answer, and whether the job exists cannot be decided.

    Sending it again could load the same records twice, so asyncbulk stops that chunk instead.
    """


class AccountingError(AsyncBulkError):
    """The result files do not account for every record that was read."""


class ResumeError(AsyncBulkError):
    """A load cannot be resumed: the input file or the options changed, or the journal is unusable."""


class UnfinishedLoadError(ResumeError):
    """An earlier load of the same input into the same org and object did not finish.

    Starting it again would load its records twice: resume it (``asyncbulk resume DIR``), or say
    ``new=True`` (``--new``) to start a new load anyway.

    :param out_dir: the folder of the unfinished load.
    """

    def __init__(self, message: str, *, out_dir: str) -> None:
        super().__init__(message)
        self.out_dir = out_dir
