"""The built-in tool implementations (records in data/llm_tool_data.xml).

Each runs in the requesting user's environment: ACLs, record rules and field groups decide,
exactly as in the web client. Errors raised here (``AccessError``, ``ValidationError``,
``UserError``, ``ToolError``) reach the model and the user as the tool's error.
"""

from odoo import api, models

from .llm_domains import unsearchable_field
from .llm_tool_registry import ToolError, llm_tool, model_of, readable_fields, record_of

SEARCH_LIMIT = 80
GROUP_LIMIT = 80
MODEL_LIST_LIMIT = 50
FIELD_ATTRIBUTES = ["string", "type", "relation", "required", "readonly", "selection"]

MODEL = {"type": "string", "description": "Technical model name, e.g. res.partner"}
DOMAIN = {"type": "array", "items": {},
          "description": "Odoo domain, e.g. [[\"name\", \"ilike\", \"acme\"]]"}
FIELDS = {"type": "array", "items": {"type": "string"}}
VALUES = {"type": "object", "description": "Field names and values"}


def _domain(records, domain):
    env = records.env
    if not isinstance(domain, (list, tuple)):
        raise ToolError(env._("The domain must be a list, e.g. [[\"name\", \"=\", \"x\"]]."))
    # The ORM would drop such a condition (logging an error) and answer for every record.
    unsearchable = unsearchable_field(records, domain)
    if unsearchable:
        raise ToolError(env._("The domain filters on %s, which cannot be searched: filter on "
                              "a stored field instead.", unsearchable))
    return list(domain)


def _values(env, values):
    if not isinstance(values, dict) or not values:
        raise ToolError(env._("'values' must be an object of field names and values."))
    return values


class LlmToolBuiltin(models.Model):
    _inherit = "llm.tool"

    @api.model
    @llm_tool("Search records of an Odoo model with a domain and return the requested fields.",
              {"type": "object", "properties": {
                  "model": MODEL, "domain": DOMAIN, "fields": FIELDS,
                  "limit": {"type": "integer", "minimum": 1, "maximum": SEARCH_LIMIT}},
               "required": ["model"]})
    def _llm_tool_search_records(self, model, domain=(), fields=(), limit=20):
        records = model_of(self.env, model)
        fields = readable_fields(records, fields)
        limit = max(1, min(int(limit), SEARCH_LIMIT))
        return records.search_read(_domain(records, domain), fields, limit=limit)

    @api.model
    @llm_tool("Read fields of one record of an Odoo model by id.",
              {"type": "object", "properties": {
                  "model": MODEL, "id": {"type": "integer"}, "fields": FIELDS},
               "required": ["model", "id"]})
    def _llm_tool_read_record(self, model, id, fields=()):  # noqa: A002 (the name the model sees)
        record = record_of(self.env, model, id)
        return record.read(readable_fields(record, fields))[0]

    @api.model
    @llm_tool("Count records of an Odoo model matching a domain, optionally grouped by fields "
              "(e.g. [\"state\"] or [\"date:month\"]).",
              {"type": "object", "properties": {
                  "model": MODEL, "domain": DOMAIN,
                  "groupby": {"type": "array", "items": {"type": "string"}}},
               "required": ["model"]})
    def _llm_tool_count_records(self, model, domain=(), groupby=()):
        records = model_of(self.env, model)
        domain = _domain(records, domain)
        if not groupby:
            return {"count": records.search_count(domain)}
        groupby = list(groupby)
        readable_fields(records, [spec.split(":")[0] for spec in groupby])
        groups = records._read_group(domain, groupby, ["__count"], limit=GROUP_LIMIT)
        return [{**{spec: _group_value(value) for spec, value in zip(groupby, group[:-1])},
                 "count": group[-1]} for group in groups]

    @api.model
    @llm_tool("List the Odoo models the user may read (technical name and label), optionally "
              "filtered by a word.",
              {"type": "object", "properties": {"search": {"type": "string"}}})
    def _llm_tool_list_models(self, search=""):
        result = []
        for name in sorted(self.env):
            model = self.env[name]
            if model._abstract or model._transient or not model.has_access("read"):
                continue
            if search and search.lower() not in f"{name} {model._description}".lower():
                continue
            result.append({"model": name, "name": model._description})
            if len(result) >= MODEL_LIST_LIMIT:
                break
        return result

    @api.model
    @llm_tool("List the fields of an Odoo model the user may read: name, label, type, "
              "related model.",
              {"type": "object", "properties": {"model": MODEL}, "required": ["model"]})
    def _llm_tool_list_fields(self, model):
        records = model_of(self.env, model)
        records.check_access("read")
        # fields_get leaves out the fields restricted to groups the user is not in.
        return records.fields_get(attributes=FIELD_ATTRIBUTES)

    @api.model
    @llm_tool("Create one record of an Odoo model with the given field values.",
              {"type": "object", "properties": {"model": MODEL, "values": VALUES},
               "required": ["model", "values"]})
    def _llm_tool_create_record(self, model, values):
        record = model_of(self.env, model).create(_values(self.env, values))
        return {"created": True, "id": record.id, "display_name": record.display_name}

    @api.model
    @llm_tool("Write field values on one record of an Odoo model.",
              {"type": "object", "properties": {
                  "model": MODEL, "id": {"type": "integer"}, "values": VALUES},
               "required": ["model", "id", "values"]})
    def _llm_tool_update_record(self, model, id, values):  # noqa: A002
        record = record_of(self.env, model, id)
        # write() applies ACLs, record rules and field groups, then raises AccessError.
        record.write(_values(self.env, values))
        return {"updated": True, "id": record.id}

    @api.model
    @llm_tool("Delete records of an Odoo model by id.",
              {"type": "object", "properties": {
                  "model": MODEL, "ids": {"type": "array", "items": {"type": "integer"}}},
               "required": ["model", "ids"]})
    def _llm_tool_delete_records(self, model, ids):
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
            raise ToolError(self.env._("'ids' must be a non-empty list of record ids."))
        records = model_of(self.env, model).browse(ids).exists()
        missing = sorted(set(ids) - set(records.ids))
        if missing:
            raise ToolError(self.env._("%(model)s %(ids)s do not exist.", model=model,
                                       ids=", ".join(map(str, missing))))
        records.unlink()
        return {"deleted": True, "ids": ids}


def _group_value(value):
    if isinstance(value, models.BaseModel):
        return [value.id, value.display_name] if value else False
    return value
