"""Python tools the model may call, registered with :func:`llm_tool`.

A tool is a function ``fn(env, **arguments)`` returning JSON-serialisable data. It always
runs in the requesting user's environment, never with ``sudo()``: ACLs and record rules decide
what it may read or write, exactly as if the user did it in the web client. A tool signals a
failure the model should see by raising (``UserError``, ``AccessError``, ``ValidationError``,
``ToolError``...); the engine sends the message back to the model as the tool's result.

Issue 6 (``llm.tool``) grows this registry into records with permissions and approvals; the
engine only depends on :func:`get_tool` and :func:`tool_specs`.
"""

from dataclasses import dataclass
from typing import Any, Callable

from odoo.exceptions import UserError

from ..providers.base import ToolSpec

SEARCH_LIMIT = 80


class ToolError(UserError):
    """A tool refused its arguments; the message is shown to the model."""


@dataclass(frozen=True)
class RegisteredTool:
    spec: ToolSpec
    function: Callable[..., Any]
    # Tools that change data are offered only to threads that enable them explicitly.
    writes: bool = False


_TOOLS: dict[str, RegisteredTool] = {}


def llm_tool(name, description, parameters, writes=False):
    """Register ``fn(env, **arguments)`` as the tool ``name`` (``parameters``: JSON schema)."""

    def register(function):
        if name in _TOOLS:
            raise ValueError(f"LLM tool {name!r} registered twice")
        _TOOLS[name] = RegisteredTool(ToolSpec(name, description, parameters), function, writes)
        return function

    return register


def get_tool(name):
    return _TOOLS.get(name)


def tool_names(writes=None):
    """Registered names, optionally only read (``writes=False``) or write tools."""
    return sorted(n for n, t in _TOOLS.items() if writes is None or t.writes == writes)


def tool_specs(names):
    return [_TOOLS[name].spec for name in names if name in _TOOLS]


def _model(env, model):
    if model not in env:
        raise ToolError(env._("Unknown model %s.", model))
    return env[model]


def _record(env, model, record_id):
    record = _model(env, model).browse(int(record_id)).exists()
    if not record:
        raise ToolError(env._("%(model)s %(id)s does not exist.", model=model, id=record_id))
    return record


def _readable_fields(records, fields):
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


@llm_tool(
    "search_records",
    "Search records of an Odoo model with a domain and return the requested fields.",
    {
        "type": "object",
        "properties": {
            "model": {"type": "string", "description": "Technical model name, e.g. res.partner"},
            "domain": {"type": "array", "description": "Odoo domain, e.g. [[\"name\", \"ilike\", \"acme\"]]",
                       "items": {}},
            "fields": {"type": "array", "items": {"type": "string"}},
            "limit": {"type": "integer", "minimum": 1, "maximum": SEARCH_LIMIT},
        },
        "required": ["model"],
    },
)
def search_records(env, model, domain=(), fields=(), limit=20):
    records = _model(env, model)
    fields = _readable_fields(records, fields)
    limit = max(1, min(int(limit), SEARCH_LIMIT))
    return records.search_read(list(domain), fields, limit=limit)


@llm_tool(
    "read_record",
    "Read fields of one record of an Odoo model by id.",
    {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "id": {"type": "integer"},
            "fields": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["model", "id"],
    },
)
def read_record(env, model, id, fields=()):  # noqa: A002 (the name the model sees)
    record = _record(env, model, id)
    return record.read(_readable_fields(record, fields))[0]


@llm_tool(
    "update_record",
    "Write field values on one record of an Odoo model, with the user's own rights.",
    {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "id": {"type": "integer"},
            "values": {"type": "object", "description": "Field names and new values"},
        },
        "required": ["model", "id", "values"],
    },
    writes=True,
)
def update_record(env, model, id, values):  # noqa: A002
    record = _record(env, model, id)
    # write() applies ACLs, record rules and field groups, then raises AccessError.
    record.write(values)
    return {"updated": True, "id": record.id}
