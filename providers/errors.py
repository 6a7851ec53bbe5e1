"""Every user-facing provider error message, in one place.

Each builder returns a :class:`~.base.ProviderError` whose message names the provider and says
what to do. The templates are wrapped in ``_()`` so Odoo's translation export finds them (it
extracts ``_("...")`` calls from every Python file of the addon); this package stays free of
Odoo, so ``_`` only marks them here and the Odoo layer translates ``error.template`` with
``env._`` when it shows the message.
"""

from __future__ import annotations

from .base import ErrorKind, ProviderError

SETTINGS = "LLM > Configuration > Providers"
# Longest provider text kept in a message: enough for any real error, bounded for HTML pages.
DETAIL_LIMIT = 500


def _(source: str) -> str:
    """Mark ``source`` for translation export; see the module docstring."""
    return source


def _error(label: str, kind: ErrorKind, template: str, *, detail: str = "",
           status: int | None = None, retryable: bool = False,
           retry_after: float | None = None, **params) -> ProviderError:
    params = {"provider": label, "settings": SETTINGS, "status": status, "detail": detail,
              **params}
    return ProviderError(label, kind, template % params, detail=detail, status=status,
                         template=template, params=params, retryable=retryable,
                         retry_after=retry_after)


def short(text: str) -> str:
    """Provider text fit for a message: whitespace collapsed, bounded length."""
    text = " ".join(str(text).split())
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT - 1] + "…"


# Builders: ``builder(label, detail=..., status=..., **params)`` ----------------------------

def _builder(kind: ErrorKind, template: str, retryable: bool = False):
    def build(label: str, *, detail: str = "", status: int | None = None,
              retry_after: float | None = None, **params) -> ProviderError:
        return _error(label, kind, template, detail=detail, status=status,
                      retryable=retryable, retry_after=retry_after, **params)
    return build


# Transport (params: url, host, seconds)
refused = _builder("connection", _(
    "%(provider)s refused the connection to %(url)s. Check the base URL in %(settings)s and "
    "that the server is running."))
unknown_host = _builder("connection", _(
    "%(provider)s: the host \"%(host)s\" cannot be found. Check the base URL in %(settings)s."))
connection_failed = _builder("connection", _(
    "%(provider)s: the connection to %(url)s failed (%(detail)s). Check the base URL in "
    "%(settings)s and the network, then try again."))
tls_failed = _builder("connection", _(
    "%(provider)s: no secure connection could be made to %(url)s (%(detail)s). Check the base "
    "URL in %(settings)s and the server's certificate."))
invalid_url = _builder("connection", _(
    "%(provider)s: \"%(url)s\" is not a valid URL. Correct the base URL in %(settings)s."))
connect_timeout = _builder("timeout", _(
    "%(provider)s did not accept a connection within %(seconds)s seconds. Check the base URL "
    "and the network, or try again later."))
read_timeout = _builder("timeout", _(
    "%(provider)s stopped answering for %(seconds)s seconds. Try again later, or raise the "
    "provider's timeout in %(settings)s."))
cancelled = _builder("cancelled", _("The request to %(provider)s was cancelled."))

# HTTP status (params: status, detail; model, url)
bad_key = _builder("auth", _(
    "%(provider)s rejected the API key (HTTP %(status)s). Check the API key in %(settings)s."))
forbidden = _builder("auth", _(
    "%(provider)s refused access (HTTP %(status)s): %(detail)s. Check that the API key in "
    "%(settings)s is allowed to use this model."))
model_not_found = _builder("not_found", _(
    "%(provider)s does not know the model \"%(model)s\" (HTTP %(status)s): %(detail)s. Check "
    "the model's API id, or fetch the provider's models again."))
url_not_found = _builder("not_found", _(
    "%(provider)s has nothing at %(url)s (HTTP %(status)s). Check the base URL and the API "
    "format in %(settings)s."))
bad_request = _builder("bad_request", _(
    "%(provider)s rejected the request (HTTP %(status)s): %(detail)s. Check the model's "
    "settings and the request options."))
context_too_long = _builder("bad_request", _(
    "%(provider)s rejected the request because the conversation is too long for the model "
    "(HTTP %(status)s): %(detail)s. Start a new conversation, or choose a model with a larger "
    "context window."))
quota_exceeded = _builder("rate_limit", _(
    "%(provider)s: the API key has no quota left (HTTP %(status)s): %(detail)s. Check the plan "
    "and billing of the account."))
# Retryable: the retry loop replaces them by gave_up() when it stops retrying.
rate_limited = _builder("rate_limit", _(
    "%(provider)s is limiting the request rate (HTTP %(status)s): %(detail)s. Wait a minute and "
    "try again, or check the plan and quota of the API key."), retryable=True)
server_error = _builder("server", _(
    "%(provider)s had a server error (HTTP %(status)s): %(detail)s. Try again in a few "
    "minutes."), retryable=True)

# Stream content (params: reason, tool)
malformed = _builder("protocol", _(
    "%(provider)s sent a malformed answer (%(detail)s). Try again; if it persists, check that "
    "the base URL and API format in %(settings)s match the server."))
stream_cut = _builder("protocol", _("%(provider)s closed the answer before its end. Try again."))
empty_answer = _builder("protocol", _(
    "%(provider)s returned an empty answer (finish reason: %(reason)s). Try again, or rephrase "
    "the message."))
bad_tool_arguments = _builder("protocol", _(
    "%(provider)s called the tool \"%(tool)s\" with arguments that are not valid JSON. Try "
    "again."))
# An error reported inside a 200 stream; overload-type ones are retryable (only while nothing
# was yielded yet, like every retry).
_STREAM_ERROR = _(
    "%(provider)s reported an error while answering: %(detail)s. Try again.")
stream_error = _builder("server", _STREAM_ERROR)
stream_overloaded = _builder("server", _STREAM_ERROR, retryable=True)

# Embeddings
no_embeddings = _builder("bad_request", _(
    "%(provider)s has no embeddings API. Choose an embedding model of an OpenAI-compatible or "
    "Ollama provider for the knowledge sources."))


def gave_up(error: ProviderError, retries: int, waited: float) -> ProviderError:
    """``error`` after the bounded retries, no longer retryable."""
    if error.kind == "rate_limit":
        template = _(
            "%(provider)s is still limiting the request rate after %(retries)s retries over "
            "%(waited)s seconds (HTTP %(status)s): %(detail)s. Wait a minute and try again, or "
            "check the plan and quota of the API key.")
    elif error.status:
        template = _(
            "%(provider)s still had a server error after %(retries)s retries over %(waited)s "
            "seconds (HTTP %(status)s): %(detail)s. Try again in a few minutes.")
    else:
        template = _(
            "%(provider)s still reported an error after %(retries)s retries over %(waited)s "
            "seconds: %(detail)s. Try again in a few minutes.")
    return _error(error.provider_name, error.kind, template, status=error.status,
                  detail=error.detail, retries=retries, waited=round(waited, 1))
