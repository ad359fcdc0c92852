"""Every error proxyx raises on purpose.

    ProxyxError                 base; the CLI prints its message on one line
    ├── ConfigError             a config file or option is wrong (exit 2)
    ├── DataError               a data set is missing, empty or malformed (exit 2)
    ├── CacheError              the call cache is corrupt or cannot be written (exit 2)
    ├── ModelError              a model could not answer
    │   ├── UnknownModel        the model name is not known (exit 2)
    │   ├── CallFailed          a call failed after its last retry (``status``, ``attempts``)
    │   ├── BadAnswers          a model broke the protocol: a text answered twice or not at all,
    │   │                       probabilities of the wrong shape, NaN, rows not summing to 1
    │   ├── RateLimited         429 from a provider (retried)
    │   └── CallTimeout         a call took longer than its timeout (retried)
    └── BudgetExceeded          the next call could pass ``max_usd``

Messages say what is wrong and how to fix it; they never hold an API key nor
the credentials of a URL (``redact``).
"""

from __future__ import annotations

import re

#: ``scheme://user:password@`` (or ``scheme://token@``): the userinfo of a URL
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"<>]+@")


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``[redacted]``."""
    return _URL_USERINFO.sub(r"\1[redacted]@", text)


class ProxyxError(Exception):
    """Base of every error proxyx raises on purpose."""

    exit_code = 1


class ConfigError(ProxyxError):
    exit_code = 2


class DataError(ProxyxError):
    exit_code = 2


class CacheError(ProxyxError):
    """The call cache (``cache_dir``) is corrupt or cannot be written; the message says how to move it aside."""

    exit_code = 2


class ModelError(ProxyxError):
    exit_code = 1


class UnknownModel(ModelError):
    exit_code = 2


class CallFailed(ModelError):
    """A model call failed for good (after its retries).

    ``status`` is the provider's HTTP status (None: no HTTP answer, e.g. a refused
    connection), ``attempts`` how many times the call was sent.
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int | None = None):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class BadAnswers(ModelError):
    """A model broke the ``Model`` protocol (see ``proxyx.models.base``); a bug in the model, not in the call."""


class RateLimited(ModelError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class CallTimeout(ModelError):
    pass


class BudgetExceeded(ProxyxError):
    exit_code = 4


# Documented process exit codes (README "Exit codes").
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_FAILURES = 3
EXIT_BUDGET = 4
