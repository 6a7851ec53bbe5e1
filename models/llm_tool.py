"""``llm.tool``: an action the model may ask for, with who may use it and how risky it is.

Managers configure tools (LLM > Configuration > Tools); a user enables on a thread only the
tools their groups and company allow (``llm.thread.tool_names``, checked on every write),
and ``_llm_execute`` checks the same again, plus the owner's approval, at execution time.
"""

import inspect
import json
import re

from odoo import Command, api, fields, models, tools
from odoo.exceptions import AccessError, UserError, ValidationError

from ..providers.base import ToolSpec
from . import llm_tool_registry
from .llm_tool_registry import ToolError

# What OpenAI, Anthropic and Ollama all accept as a function name.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PREVIEW_MAX_VALUE = 200
# Links shown under a tool card whose result lists records.
TOUCHED_MAX = 10


class LlmTool(models.Model):
    _name = "llm.tool"
    _inherit = ["llm.cached.config"]  # _llm_catalogue
    _description = "LLM Tool"
    _order = "sequence, name"

    name = fields.Char(required=True, help="The name the model calls the tool by: letters, "
                                           "digits, '_' and '-', at most 64.")
    sequence = fields.Integer(default=10)
    description = fields.Text(help="Tells the model what the tool does and when "
                                                  "to use it.")
    # Not required in the form: a Python tool takes its decorator's schema when left empty.
    parameters = fields.Text(
        "Arguments (JSON Schema)",
        help="A JSON Schema object describing the arguments; the model follows it.")
    implementation = fields.Selection(
        [("python", "Python method"), ("server_action", "Server action")],
        required=True, default="python")
    # The form's list of every decorated method; it sets method_model and method_name.
    python_method = fields.Selection(
        selection="_selection_python_method", string="Python Method",
        compute="_compute_python_method", inverse="_inverse_python_method",
        help="A private model method decorated with @llm_tool.")
    method_model = fields.Char(
        "Model", help="Technical name of the model holding the method, e.g. llm.tool.")
    method_name = fields.Char(
        "Method", help="A private method decorated with @llm_tool (models/llm_tool_registry.py).")
    server_action_id = fields.Many2one(
        "ir.actions.server", "Server Action", ondelete="restrict",
        help="Runs as the user, on the records whose ids the model passes in 'ids' (if any); "
             "the other arguments are in the context key 'llm_tool_arguments'.")
    risk = fields.Selection(
        [("read", "Read"), ("write", "Write"), ("destructive", "Destructive")],
        required=True, default="read",
        help="Read tools only look at data; write tools create or change records; destructive "
             "tools delete them.")
    requires_approval = fields.Boolean(
        compute="_compute_requires_approval", store=True, readonly=False, precompute=True,
        help="The conversation stops until its owner approves or denies each call.")
    group_ids = fields.Many2many(
        "res.groups", string="Allowed Groups",
        help="Only members of one of these groups may enable and run the tool; empty: every "
             "LLM user.")
    company_ids = fields.Many2many(
        "res.company", string="Allowed Companies",
        help="Only usable while working in one of these companies; empty: all.")
    active = fields.Boolean(default=True)

    _sql_constraints = [("name_unique", "unique(name)", "A tool with this name already exists.")]

    @api.model
    def _selection_python_method(self):
        return [(f"{model}:{method}", f"{model} / {method}")
                for model, method in llm_tool_registry.python_methods(self.env)]

    @api.depends("method_model", "method_name")
    def _compute_python_method(self):
        for tool in self:
            tool.python_method = tool.method_model and tool.method_name and \
                f"{tool.method_model}:{tool.method_name}"

    def _inverse_python_method(self):
        for tool in self.filtered("python_method"):
            tool.method_model, tool.method_name = tool.python_method.split(":", 1)

    @api.depends("risk")
    def _compute_requires_approval(self):
        for tool in self:
            tool.requires_approval = tool.risk != "read"

    @api.model_create_multi
    def create(self, vals_list):
        # A Python tool takes its description and schema from its decorator unless given.
        for vals in vals_list:
            if vals.get("python_method"):
                vals["method_model"], vals["method_name"] = vals["python_method"].split(":", 1)
            if vals.get("implementation", "python") == "python" and vals.get("method_model") \
                    in self.env:
                spec = llm_tool_registry.tool_spec_of(self.env[vals["method_model"]],
                                                      vals.get("method_name"))
                if spec:
                    vals["description"] = vals.get("description") or spec["description"]
                    vals["parameters"] = vals.get("parameters") or json.dumps(
                        spec["parameters"], indent=1)
        return super().create(vals_list)

    @api.constrains("name", "description", "parameters", "implementation", "method_model", "method_name",
                    "server_action_id")
    def _check_definition(self):
        for tool in self:
            if not TOOL_NAME.match(tool.name or ""):
                raise ValidationError(self.env._(
                    "The tool name %s may only use letters, digits, '_' and '-' (at most 64).",
                    tool.name))
            try:
                schema = json.loads(tool.parameters or "")
            except ValueError as exc:
                raise ValidationError(self.env._(
                    "The arguments of tool %(tool)s are not valid JSON: %(error)s",
                    tool=tool.name, error=exc)) from None
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise ValidationError(self.env._(
                    "The arguments of tool %s must be a JSON Schema object: "
                    "{\"type\": \"object\", \"properties\": {...}}.", tool.name))
            if not tool.description:
                raise ValidationError(self.env._("Describe what tool %s does.", tool.name))
            if tool.implementation == "server_action" and not tool.server_action_id:
                raise ValidationError(self.env._("Choose the server action of tool %s.",
                                                 tool.name))
            if tool.implementation == "python" and not (
                    tool.method_model in self.env and llm_tool_registry.tool_spec_of(
                        self.env[tool.method_model], tool.method_name)):
                raise ValidationError(self.env._(
                    "Tool %(tool)s: %(model)s has no method %(method)s decorated with "
                    "@llm_tool.", tool=tool.name, model=tool.method_model or "?",
                    method=tool.method_name or "?"))

    # ------------------------------------------------------------------
    # Who may use which tool
    # ------------------------------------------------------------------

    def _llm_is_allowed(self):
        """Whether the current user, in the current company, may enable and run this tool."""
        self.ensure_one()
        return is_allowed(self)

    @api.model
    def _llm_available(self):
        """The tools the current user may enable, in the configured order."""
        self.check_access("read")
        return self.browse([
            tool_id for tool_id, tool in self._llm_catalogue().items()
            if allowed(self.env, tool["active"], tool["group_ids"], tool["company_ids"])])

    @api.model
    @tools.ormcache()
    def _llm_catalogue(self):
        """``{id: {name, active, group_ids, company_ids, spec}}`` of every tool, in the
        configured order: what is read before every model call (who may use which tool, and
        the specs sent), read once per process instead of in four queries at every send,
        until a tool is written (llm.cached.config); plain values shared by every
        transaction of the process, never changed."""
        return {tool.id: {
            "name": tool.name,
            "active": tool.active,
            "group_ids": frozenset(tool.group_ids.ids),
            "company_ids": frozenset(tool.company_ids.ids),
            "spec": ToolSpec(tool.name, tool.description, json.loads(tool.parameters)),
        } for tool in self.sudo().with_context(active_test=False).search([])}

    @api.model
    def _llm_default_names(self):
        """What a new thread enables: the read tools open to every user. Tools that change
        data, or restricted to some groups (the SQL tool), are enabled explicitly."""
        return self._llm_available().filtered(
            lambda tool: tool.risk == "read" and not tool.group_ids).mapped("name")

    @api.model
    def _llm_check_names(self, names):
        """Refuses names the current user may not enable (enable-time check)."""
        refused = set(names or ()) - set(self._llm_available().mapped("name"))
        if refused:
            raise AccessError(self.env._(
                "These tools do not exist or are not allowed for you: %s. Ask an LLM manager "
                "(LLM > Configuration > Tools).", ", ".join(sorted(refused))))

    @api.model
    def _llm_enabled(self, names):
        """The tools of ``names`` the current user may run now, in the thread's order."""
        catalogue = self._llm_catalogue()
        by_name = {catalogue[tool_id]["name"]: tool_id for tool_id in self._llm_available().ids}
        return self.browse([by_name[name] for name in names or () if name in by_name])

    def _llm_spec(self):
        self.ensure_one()
        return self._llm_catalogue()[self.id]["spec"]

    @api.model
    def _llm_ui_options(self):
        return [{
            "name": tool.name,
            "label": tool._llm_label(),
            "description": tool.description,
            "writes": tool.risk != "read",
            "risk": tool.risk,
            "requires_approval": tool.requires_approval,
        } for tool in self._llm_available()]

    def _llm_label(self):
        """The tool's name for people: its technical name (what the model calls, e.g.
        ``update_record``) in words, "Update record"."""
        self.ensure_one()
        return self.name.replace("_", " ").replace("-", " ").strip().capitalize()

    @api.model
    def _llm_not_enabled_message(self, name, thread):
        """Why a call of the tool ``name`` the model asked for in ``thread`` is refused, for
        the user who sees it on the call's card and for the model that gets it back: the tool
        by its name for people and where the user enables it, and the tools enabled."""
        enabled = thread._llm_enabled_tools()
        listed = ", ".join(f"{tool._llm_label()} ({tool.name})" for tool in enabled) \
            or self.env._("none")
        tool = self._llm_available().filtered(lambda t: t.name == name)
        if tool:
            return self.env._(
                "The tool \"%(tool)s\" is not enabled in this conversation: enable it in the "
                "Tools menu at the top of the conversation, then ask again. Enabled tools: "
                "%(tools)s.", tool=tool._llm_label(), tools=listed)
        return self.env._(
            "There is no tool \"%(tool)s\" that you may use. Enabled tools: %(tools)s.",
            tool=name, tools=listed)

    # ------------------------------------------------------------------
    # Execution
    # ------------------------------------------------------------------

    def _llm_execute(self, arguments, thread, call_id):
        """Run one call of the model in ``thread``, as the current user: the only way a tool
        runs. Refuses a tool the user may not use, or one that needs an approval the thread's
        owner has not given for exactly this call."""
        self.ensure_one()
        thread._llm_check_owner()
        if not self._llm_is_allowed() or self.name not in thread._llm_tool_names():
            raise AccessError(self.env._("The tool %s is not enabled for you in this "
                                         "conversation.", self.name))
        error = self._llm_arguments_error(arguments)
        if error:
            raise self._llm_invalid_arguments(error)
        if self.requires_approval:
            self.env["llm.tool.approval"]._llm_check_approved(thread, call_id, self, arguments)
        # Which conversation the call is for (search_knowledge searches its sources).
        return self.with_context(llm_tool_thread_id=thread.id)._llm_run(arguments)

    def _llm_arguments_error(self, arguments):
        """Why ``arguments`` do not follow the tool's JSON schema, in words, or None:
        checked before a call's approval is asked (its preview reads them) and before it runs."""
        self.ensure_one()
        return llm_tool_registry.schema_error(self.env, self._llm_spec().parameters, arguments)

    def _llm_invalid_arguments(self, error):
        """The error the model gets for arguments not following the schema: the schema."""
        return ToolError(self.env._("Invalid arguments for %(tool)s (%(error)s). Expected: "
                                    "%(schema)s", tool=self.name, error=error,
                                    schema=self.parameters))

    def _llm_run(self, arguments):
        """The implementation itself, in the current user's environment."""
        self.ensure_one()
        if not isinstance(arguments, dict):
            raise ToolError(self.env._("The arguments must be a JSON object."))
        if self.implementation == "server_action":
            return self._llm_run_server_action(arguments)
        method = getattr(self.env[self.method_model], self.method_name)
        try:
            inspect.signature(method).bind(**arguments)
        except TypeError as exc:
            # Wrong or missing argument names: tell the model the schema it must follow.
            raise self._llm_invalid_arguments(exc) from None
        return method(**arguments)

    def _llm_run_server_action(self, arguments):
        action = self.server_action_id
        # Reading the action's configuration needs no user right; running it does.
        records = self.env[action.sudo().model_id.model]
        ids = arguments.get("ids")
        if ids:
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise ToolError(self.env._("'ids' must be a list of record ids."))
            records = records.browse(ids).exists()
        context = {"active_model": records._name, "active_ids": records.ids,
                   "active_id": records[:1].id, "llm_tool_arguments": arguments}
        # run() checks the action's groups, or write access to its model, for this user.
        result = action.with_context(**context).run()
        return result if result else {"done": True}

    # ------------------------------------------------------------------
    # What a call touched
    # ------------------------------------------------------------------

    def _llm_touched_records(self, arguments, result):
        """The records a successful call of this tool (or of an unknown one: empty ``self``)
        was about, for the links under its card: the record of ``{model, id}`` in its
        arguments, else the rows (with an ``id``) its JSON result lists, at most
        ``TOUCHED_MAX``. Each is named as the current user reads it, or "<Model> #id" when they
        may not; records that no longer exist are left out. ``changed``: the tool writes, so
        a view showing one of them reloads it."""
        model_name = arguments.get("model") if isinstance(arguments, dict) else None
        if not isinstance(model_name, str) or model_name not in self.env:
            return []
        if isinstance(arguments.get("id"), int):
            ids = [arguments["id"]]
        else:
            try:
                parsed = json.loads(result or "")
            except ValueError:
                return []  # not JSON, or cut at TOOL_RESULT_MAX_CHARS
            rows = parsed.get("records") if isinstance(parsed, dict) else parsed
            ids = [row["id"] for row in rows if isinstance(row, dict)
                   and isinstance(row.get("id"), int)][:TOUCHED_MAX] \
                if isinstance(rows, list) else []
        model = self.env[model_name]
        changed = self[:1].risk in ("write", "destructive")
        return [{
            "model": model_name,
            "id": record.id,
            "label": _readable(lambda record=record: record.check_access("read")
                               or record.display_name, f"{model._description} #{record.id}"),
            "changed": changed,
        } for record in model.browse(ids).exists()]

    # ------------------------------------------------------------------
    # What an approval shows
    # ------------------------------------------------------------------

    def _llm_preview(self, arguments):
        """What a call will do, readable by the person approving it: the model, the records by
        name, and for each field its old and new value. Read as the user; values they may not
        read are left out."""
        self.ensure_one()
        preview = {"tool": self.name, "risk": self.risk, "model": "", "records": [],
                   "changes": []}
        model_name = arguments.get("model")
        if self.implementation == "server_action":
            # The action's model; what it changes is up to its code: its arguments are listed.
            model_name = self.server_action_id.sudo().model_id.model
        if not isinstance(model_name, str) or model_name not in self.env:
            preview["changes"] = [{"field": key, "old": None, "new": _short(value)}
                                  for key, value in (arguments or {}).items()]
            return preview
        model = self.env[model_name]
        preview["model"] = model._description
        ids = arguments.get("ids") if "ids" in arguments else [arguments.get("id")]
        records = model.browse([i for i in ids if isinstance(i, int)]
                               if isinstance(ids, list) else []).exists()
        preview["records"] = _readable(
            lambda: records.mapped("display_name"),
            [f"{model._description} #{record_id}" for record_id in records.ids])
        values = arguments.get("values")
        for name, new in (values.items() if isinstance(values, dict) else ()):
            field = model._fields.get(name)
            if field and _unchanged(records, field, new):
                continue  # already that value: approving it changes nothing
            old = None
            if field and len(records) == 1:
                old = _readable(lambda field=field: _display(records, field, records[field.name]))
            preview["changes"].append({
                "field": field.string if field else name,
                "old": old,
                "new": _readable(lambda field=field, new=new: _display(model, field, new),
                                 _short(new)) if field else _short(new),
            })
        preview["changes"] += [{"field": key, "old": None, "new": _short(value)}
                               for key, value in arguments.items()
                               if key not in ("model", "id", "ids", "values")]
        return preview


def is_allowed(record):
    """Whether the current user, in the current company, may use ``record`` (a tool; an
    assistant checks its cached values with ``allowed``): it is active, the user is in one
    of its ``group_ids`` and works in one of its ``company_ids`` (empty: no restriction).
    The record rules say the same."""
    return allowed(record.env, record.active, record.group_ids.ids, record.company_ids.ids)


def allowed(env, active, group_ids, company_ids):
    """``is_allowed`` on the values of those fields (ids)."""
    # _get_group_ids() is cached per user: this runs before every model call.
    return bool(active) \
        and (not group_ids or not set(group_ids).isdisjoint(env.user._get_group_ids())) \
        and (not company_ids or env.company.id in company_ids)


def _unchanged(records, field, new):
    """Whether writing ``new`` leaves ``field`` as it is on every one of ``records``, compared
    as the ORM stores values (``1`` and ``1.0``, an id and its record are the same value). A
    value the ORM cannot convert, or one the user may not read, counts as a change."""
    if not records:
        return False
    try:
        value = field.convert_to_record(field.convert_to_cache(new, records[:1]), records[:1])
        return all(record[field.name] == value for record in records)
    except (ValueError, TypeError, UserError):  # UserError: AccessError, ValidationError
        return False


def _readable(read, fallback=None):
    """``read()``, or ``fallback`` when the user may not read it: a preview shows less, it
    never fails (the call is then refused by the tool itself, with the real error)."""
    try:
        return read()
    except AccessError:
        return fallback


def _short(value):
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= PREVIEW_MAX_VALUE else text[:PREVIEW_MAX_VALUE] + "…"


def _display(model, field, value):
    """A value as a person reads it: names of related records, labels of selections."""
    if isinstance(value, models.BaseModel):
        return _short(", ".join(value.mapped("display_name"))) if value else ""
    if field.type in ("many2one", "many2many", "one2many") and value:
        ids = value if isinstance(value, list) else [value]
        if not all(isinstance(i, int) for i in ids):
            return _short(_commands_text(model.env[field.comodel_name], ids))
        related = model.env[field.comodel_name].browse(ids).exists()
        return _short(", ".join(related.mapped("display_name")))
    if field.type == "selection" and value:
        return _short(dict(field._description_selection(model.env)).get(value, value))
    if value is False or value is None:
        return ""
    return _short(value)


def _commands_text(comodel, commands):
    """ORM commands on a relation (``[[4, 2]]``, ``[[6, 0, [1, 2]]]``...) as what they do to
    it, the records by name ("+ Internal User, − Portal"); anything else as it is."""
    if not all(isinstance(command, (list, tuple)) and 1 <= len(command) <= 3
               and command[0] in range(7) for command in commands):
        return str(commands)
    # The ORM also takes them short: [4, id], [5].
    commands = [(*command, None, None)[:3] for command in commands]
    referenced = [command[1] for command in commands
                  if command[0] in (Command.UPDATE, Command.DELETE, Command.UNLINK, Command.LINK)]
    referenced += [i for command in commands if command[0] == Command.SET
                   and isinstance(command[2], list) for i in command[2]]
    names = {record.id: record.display_name for record in comodel.browse(
        [i for i in referenced if isinstance(i, int)]).exists()}

    def name(record_id):
        return names.get(record_id, f"#{record_id}")

    env = comodel.env
    parts = []
    for kind, target, values in commands:
        if kind == Command.CREATE:
            parts.append("+ " + env._("a new record"))
        elif kind == Command.UPDATE:
            parts.append(f"~ {name(target)}")
        elif kind in (Command.DELETE, Command.UNLINK):
            parts.append(f"− {name(target)}")
        elif kind == Command.LINK:
            parts.append(f"+ {name(target)}")
        elif kind == Command.CLEAR:
            parts.append(env._("none"))
        else:
            parts.append(", ".join(map(name, values if isinstance(values, list) else []))
                         or env._("none"))
    return ", ".join(parts)
