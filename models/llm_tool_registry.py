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


# A JSON schema's "type" names, and what a parsed JSON value of each is (a boolean is no number).
JSON_TYPES = {
    "string": lambda value: isinstance(value, str),
    "integer": lambda value: type(value) is int,
    "number": lambda value: type(value) in (int, float),
    "boolean": lambda value: type(value) is bool,
    "array": lambda value: isinstance(value, list),
    "object": lambda value: isinstance(value, dict),
    "null": lambda value: value is None,
}


def schema_error(env, schema, value, path="arguments"):
    """What in ``value`` (a call's arguments) its JSON schema refuses, in words, or None:
    the ``type``, ``enum``, ``required``, ``properties`` and ``items`` of the schema. Taken
    as given, never converted: what a call's approval shows and what it runs are then the
    same records (a string id the preview cannot find would still be written)."""
    if not isinstance(schema, dict):
        return None
    types = schema.get("type")
    types = [types] if isinstance(types, str) else types or []
    known = [name for name in types if name in JSON_TYPES]
    if known and not any(JSON_TYPES[name](value) for name in known):
        return env._("%(path)s must be of type %(types)s", path=path, types=" or ".join(known))
    if "enum" in schema and value not in schema["enum"]:
        return env._("%(path)s must be one of %(values)s", path=path, values=schema["enum"])
    if isinstance(value, dict):
        missing = [name for name in schema.get("required") or () if name not in value]
        if missing:
            return env._("%(path)s lacks %(names)s", path=path, names=", ".join(missing))
        properties = schema.get("properties") or {}
        return next(filter(None, (schema_error(env, properties[name], item, name)
                                  for name, item in value.items() if name in properties)), None)
    if isinstance(value, list):
        return next(filter(None, (schema_error(env, schema.get("items"), item, f"{path}[{index}]")
                                  for index, item in enumerate(value))), None)
    return None


def record_of(env, model, record_id):
    if type(record_id) is not int:
        # Not converted: an approval's preview finds no record by a string id.
        raise ToolError(env._("%s is not a record id.", record_id))
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
