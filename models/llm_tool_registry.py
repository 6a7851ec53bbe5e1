"""The decorator that makes a model method available as the implementation of ``llm.tool``
records, and helpers shared by the built-in tools.

A tool implementation is a PRIVATE method of any model, decorated with :func:`llm_tool`::

    class SaleOrder(models.Model):
        _inherit = "sale.order"

        @llm_tool("Confirm a quotation by id.",
                  {"type": "object", "properties": {"id": {"type": "integer"}},
                   "required": ["id"]})
        def _llm_tool_confirm(self, id):
            ...
            return {"confirmed": True}

then an ``llm.tool`` record (data file or LLM > Configuration > Tools) names the model and the
method. It is called on the model, in the requesting user's environment (never ``sudo()``),
with the model's arguments as keyword arguments, and returns JSON-serialisable data. It
signals a failure the model and the user should see by raising ``UserError``,
``AccessError``, ``ValidationError`` or :class:`ToolError`.

Private on purpose: ``/web/dataset/call_kw`` refuses methods starting with ``_``, so a tool
that needs an approval can only ever run through ``llm.tool._llm_execute``, which checks it.
Only decorated methods can be configured, so a manager cannot expose an arbitrary method.
"""

from odoo.exceptions import UserError

MARKER = "_llm_tool_spec"
# Names of the decorated methods, to find which models carry them (python_methods()).
_DECORATED_NAMES = set()


class ToolError(UserError):
    """A tool refused its arguments; the message is shown to the model and the user."""


def llm_tool(description, parameters):
    """Mark a private model method as a tool implementation. ``description`` and
    ``parameters`` (a JSON schema) are the defaults of the ``llm.tool`` records using it."""

    def mark(method):
        if not method.__name__.startswith("_"):
            raise ValueError(f"LLM tool method {method.__name__!r} must be private (start with "
                             "'_') so that it cannot be called over RPC without the checks")
        setattr(method, MARKER, {"description": description, "parameters": parameters})
        _DECORATED_NAMES.add(method.__name__)
        return method

    return mark


def tool_spec_of(model, method_name):
    """The decorator's ``{"description", "parameters"}`` of ``model.method_name``, or None."""
    method = getattr(type(model), method_name or "", None)
    return getattr(method, MARKER, None)


def python_methods(env):
    """``(model, method)`` of every decorated method of every (non-abstract) model, for the
    tool form's list of implementations."""
    return [(model, name) for model in sorted(env.registry)
            if not env.registry[model]._abstract
            for name in sorted(_DECORATED_NAMES)
            if tool_spec_of(env[model], name)]


def model_of(env, model):
    if not isinstance(model, str) or model not in env:
        raise ToolError(env._("Unknown model %s.", model))
    return env[model]


def record_of(env, model, record_id):
    try:
        record_id = int(record_id)
    except (TypeError, ValueError):
        raise ToolError(env._("%s is not a record id.", record_id)) from None
    record = model_of(env, model).browse(record_id).exists()
    if not record:
        raise ToolError(env._("%(model)s %(id)s does not exist.", model=model, id=record_id))
    return record


def readable_fields(records, fields):
    """The requested (or default) fields the user may read; unknown names are an error so the
    model learns the right names instead of getting silently less data."""
    if not fields:
        return [name for name in ("display_name",) if name in records._fields]
    unknown = [name for name in fields if name not in records._fields]
    if unknown:
        raise ToolError(records.env._("Unknown fields on %(model)s: %(fields)s.",
                                      model=records._name, fields=", ".join(unknown)))
    # check_field_access_rights raises AccessError for fields restricted by groups.
    records.check_field_access_rights("read", fields)
    return fields
