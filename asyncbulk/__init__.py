"""asyncbulk: load very large CSV files into Salesforce through the Bulk API 2.0."""

from __future__ import annotations

from ._config import (
    ChunkConfig as ChunkConfig,
)
from ._config import (
    ColumnDelimiter as ColumnDelimiter,
)
from ._config import (
    ConcurrencyConfig as ConcurrencyConfig,
)
from ._config import (
    LineEnding as LineEnding,
)
from ._config import (
    Operation as Operation,
)
from ._config import (
    PollConfig as PollConfig,
)
from ._config import (
    RetryConfig as RetryConfig,
)
from ._exceptions import (
    AccountingError as AccountingError,
)
from ._exceptions import (
    AmbiguousSubmitError as AmbiguousSubmitError,
)
from ._exceptions import (
    ApiError as ApiError,
)
from ._exceptions import (
    AsyncBulkError as AsyncBulkError,
)
from ._exceptions import (
    AuthenticationError as AuthenticationError,
)
from ._exceptions import (
    InputError as InputError,
)
from ._exceptions import (
    InvalidJobStateError as InvalidJobStateError,
)
from ._exceptions import (
    NotFoundError as NotFoundError,
)
from ._exceptions import (
    RequestLimitError as RequestLimitError,
)
from ._exceptions import (
    ResumeError as ResumeError,
)
from ._exceptions import (
    TransportError as TransportError,
)

__version__ = "0.1.0"
