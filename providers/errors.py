"""Every user-facing provider error message, in one place.

Each builder returns a :class:`~.base.ProviderError` whose message is one sentence naming the
provider and saying what to do. The templates are wrapped in ``_()`` so Odoo's translation export finds them (it
extracts ``_("...")`` calls from every Python file of the addon); this package stays free of
Odoo, so ``_`` only marks them here and the Odoo layer translates ``error.template`` with
``env._`` when it shows the message.
"""

from __future__ import annotations

from .base import ErrorKind, ProviderError

SETTINGS = "LLM > Configuration > Providers"
# Longest provider text kept as an error's detail: enough for any real error, bounded for HTML
# pages.
DETAIL_LIMIT = 500


def _(source: str) -> str:
    """Mark ``source`` for translation export; see the module docstring."""
    return source


def seconds(value):
    """A duration as a message shows it: whole seconds without ".0" (5, not 5.0; 0.2)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _error(label: str, kind: ErrorKind, template: str, *, detail: str = "",
           status: int | None = None, retryable: bool = False,
           retry_after: float | None = None, ask: str = "", **params) -> ProviderError:
    for key in ("seconds", "waited"):
        if key in params:
            params[key] = seconds(params[key])
    params = {"provider": label, "settings": SETTINGS, "status": status, **params}
    return ProviderError(label, kind, template % params, detail=detail, status=status,
                         template=template, params=params, retryable=retryable,
                         retry_after=retry_after, ask_template=ask)


def short(text: str) -> str:
    """Provider text fit for a message: whitespace collapsed, bounded length."""
    text = " ".join(str(text).split())
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT - 1] + "…"


# Builders: ``builder(label, detail=..., status=..., **params)`` ----------------------------
# Each message is one sentence: what happened, then (after a semicolon) what to do. The
# provider's own words never go into it (they end with their own period, run long, and are
# in English): they are the error's ``detail``, shown apart. A problem only an LLM manager
# can fix has two sentences: ``template`` tells a manager where to fix it, ``ask`` tells
# anyone else whom to ask (``%(managers)s``, filled in by the Odoo layer).

def _builder(kind: ErrorKind, template: str, retryable: bool = False, ask: str = ""):
    def build(label: str, *, detail: str = "", status: int | None = None,
              retry_after: float | None = None, **params) -> ProviderError:
        return _error(label, kind, template, detail=detail, status=status,
                      retryable=retryable, retry_after=retry_after, ask=ask, **params)
    return build


# Transport (params: url, host, seconds)
refused = _builder("connection", _(
    "%(provider)s refused the connection to %(url)s; check the base URL in %(settings)s and "
    "that the server is running."), ask=_(
    "%(provider)s refused the connection to %(url)s; ask an LLM manager (%(managers)s) to "
    "check the provider's base URL and server."))
unknown_host = _builder("connection", _(
    "%(provider)s: the host \"%(host)s\" cannot be found; check the base URL in %(settings)s."),
    ask=_("%(provider)s: the host \"%(host)s\" cannot be found; ask an LLM manager "
          "(%(managers)s) to check the provider's base URL."))
connection_failed = _builder("connection", _(
    "%(provider)s: the connection to %(url)s failed; check the base URL in %(settings)s and "
    "the network, then try again."), ask=_(
    "%(provider)s: the connection to %(url)s failed; try again, and if it keeps failing ask "
    "an LLM manager (%(managers)s) to check the provider's base URL."))
tls_failed = _builder("connection", _(
    "%(provider)s: no secure connection could be made to %(url)s; check the base URL in "
    "%(settings)s and the server's certificate."), ask=_(
    "%(provider)s: no secure connection could be made to %(url)s; ask an LLM manager "
    "(%(managers)s) to check the provider's base URL and certificate."))
invalid_url = _builder("connection", _(
    "%(provider)s: \"%(url)s\" is not a valid URL; correct the base URL in %(settings)s."),
    ask=_("%(provider)s: \"%(url)s\" is not a valid URL; ask an LLM manager (%(managers)s) "
          "to correct the provider's base URL."))
connect_timeout = _builder("timeout", _(
    "%(provider)s did not accept a connection within %(seconds)s seconds; check the base URL "
    "and the network, or try again later."), ask=_(
    "%(provider)s did not accept a connection within %(seconds)s seconds; try again later."))
read_timeout = _builder("timeout", _(
    "%(provider)s stopped answering for %(seconds)s seconds; try again later, or raise the "
    "provider's timeout in %(settings)s."), ask=_(
    "%(provider)s stopped answering for %(seconds)s seconds; try again later."))
cancelled = _builder("cancelled", _("The request to %(provider)s was cancelled."))
# A model list (Test connection, Fetch models): any API sends it at once, so silence means
# the base URL leads to something else (or to a stuck server), which no timeout would fix.
list_timeout = _builder("timeout", _(
    "%(provider)s did not answer within %(seconds)s seconds; check that the base URL in "
    "%(settings)s leads to the provider's API and that the server is not stuck, then try "
    "again."))

# HTTP status (params: status; model, url)
bad_key = _builder("auth", _(
    "%(provider)s rejected the API key (HTTP %(status)s); check the API key in %(settings)s."),
    ask=_("%(provider)s rejected the API key (HTTP %(status)s); ask an LLM manager "
          "(%(managers)s) to check it."))
forbidden = _builder("auth", _(
    "%(provider)s refused access (HTTP %(status)s); check that the API key in %(settings)s is "
    "allowed to use this model."), ask=_(
    "%(provider)s refused access (HTTP %(status)s); choose another model, or ask an LLM "
    "manager (%(managers)s) to check that the API key may use this one."))
# A model list names no model and sends no options: only the key, the URL and the API
# format are to check. Only managers ask for it (Test connection, Fetch models, npm start).
list_forbidden = _builder("auth", _(
    "%(provider)s refused access (HTTP %(status)s); check the API key in %(settings)s and "
    "what the provider allows it."))
list_refused = _builder("bad_request", _(
    "%(provider)s rejected the request for its models (HTTP %(status)s); check the base URL "
    "and the API format in %(settings)s."))
model_not_found = _builder("not_found", _(
    "%(provider)s does not know the model \"%(model)s\" (HTTP %(status)s); check the model's "
    "API id, or fetch the provider's models again."), ask=_(
    "%(provider)s does not know the model \"%(model)s\" (HTTP %(status)s); choose another "
    "model, or ask an LLM manager (%(managers)s) to check it."))
url_not_found = _builder("not_found", _(
    "%(provider)s has nothing at %(url)s (HTTP %(status)s); check the base URL and the API "
    "format in %(settings)s."), ask=_(
    "%(provider)s has nothing at %(url)s (HTTP %(status)s); ask an LLM manager "
    "(%(managers)s) to check the provider's base URL and API format."))
bad_request = _builder("bad_request", _(
    "%(provider)s rejected the request (HTTP %(status)s); check the model's settings and the "
    "request options."), ask=_(
    "%(provider)s rejected the request (HTTP %(status)s); try again, and if it keeps failing "
    "ask an LLM manager (%(managers)s) to check the model's settings."))
context_too_long = _builder("bad_request", _(
    "%(provider)s rejected the request because the conversation is too long for the model "
    "(HTTP %(status)s); start a new conversation, or choose a model with a larger context "
    "window."))
quota_exceeded = _builder("rate_limit", _(
    "%(provider)s: the API key has no quota left (HTTP %(status)s); check the plan and "
    "billing of the account."), ask=_(
    "%(provider)s: the API key has no quota left (HTTP %(status)s); ask an LLM manager "
    "(%(managers)s) to check the plan and billing of the account."))
# Retryable: the retry loop replaces them by gave_up() when it stops retrying.
rate_limited = _builder("rate_limit", _(
    "%(provider)s is limiting the request rate (HTTP %(status)s); wait a minute and try "
    "again."), retryable=True)
server_error = _builder("server", _(
    "%(provider)s had a server error (HTTP %(status)s); try again in a few minutes."),
    retryable=True)

# Stream content (params: reason, tool)
malformed = _builder("protocol", _(
    "%(provider)s sent a malformed answer; try again, and if it persists check that the base "
    "URL and API format in %(settings)s match the server."), ask=_(
    "%(provider)s sent a malformed answer; try again, and if it persists ask an LLM manager "
    "(%(managers)s) to check the provider's settings."))
stream_cut = _builder("protocol", _("%(provider)s closed the answer before its end; try again."))
empty_answer = _builder("protocol", _(
    "%(provider)s returned an empty answer (finish reason: %(reason)s); try again, or rephrase "
    "the message."))
bad_tool_arguments = _builder("protocol", _(
    "%(provider)s called the tool \"%(tool)s\" with arguments that are not valid JSON; try "
    "again."))
# An error reported inside a 200 stream; overload-type ones are retryable (only while nothing
# was yielded yet, like every retry).
_STREAM_ERROR = _("%(provider)s reported an error while answering; try again.")
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
            "%(waited)s seconds (HTTP %(status)s); wait a minute and try again.")
    elif error.status:
        template = _(
            "%(provider)s still had a server error after %(retries)s retries over %(waited)s "
            "seconds (HTTP %(status)s); try again in a few minutes.")
    else:
        template = _(
            "%(provider)s still reported an error after %(retries)s retries over %(waited)s "
            "seconds; try again in a few minutes.")
    return _error(error.provider_name, error.kind, template, status=error.status,
                  detail=error.detail, retries=retries, waited=round(waited, 1))
