"""What the chat UI reads and changes in one call each: the thread list, a thread with its
messages, the pickers' options, a new or linked thread.

Every method works on the current user's OWN threads only, managers included (their audit right
to read every thread is for the backend views, not for chatting in someone's name).
"""

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from ..engine.protocol import BUSY_STATES
from ..engine.turn import message_text
from .llm_thread import check_input

LIST_LIMIT = 200


class LlmThreadUi(models.Model):
    _inherit = "llm.thread"

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------

    @api.model
    def llm_ui_list(self, search="", res_model=False, res_id=False, limit=LIST_LIMIT,
                    automations=False):
        """The user's threads, newest first, optionally only those linked to one record.
        ``search`` matches a thread's name or the text of its questions and answers.

        Without a record (LLM Chat's list), the conversations that Run Assistant actions
        started (an automation rule, the Action menu) are left out, as they would bury the
        user's own chats, except one waiting for their approval, which needs them;
        ``automations`` lists those conversations instead. A record's list shows them all:
        they are about that record."""
        domain = [("user_id", "=", self.env.uid)]
        if automations:
            domain += [("llm_action_id", "!=", False)]
        elif not res_model:
            domain += ["|", ("llm_action_id", "=", False), ("generation_state", "=", "approval")]
        if search:
            domain += ["|", ("name", "ilike", search), ("message_ids", "any", [
                ("llm_role", "in", ("user", "assistant")), ("body", "ilike", search)])]
        if res_model:
            domain += [("res_model", "=", res_model), ("res_id", "=", res_id)]
        threads = self.search(domain, limit=limit, order="write_date desc, id desc")
        return [thread._llm_ui_summary() for thread in threads]

    def llm_ui_load(self):
        """The thread and its messages, as the conversation component shows them."""
        self._llm_check_owner()
        messages = self._llm_history()
        tools = {tool.name: tool for tool in self.env["llm.tool"].with_context(
            active_test=False).search([])}
        result = []
        busy = self.generation_state in BUSY_STATES
        for message in messages:
            text = message_text(message)
            data = message.body_json or {}
            if busy and message.llm_role == "assistant" and not text and data.get("interrupted") \
                    and not data.get("reasoning") and not data.get("tool_calls"):
                # The answer being written has not begun: the run says so when it does
                # (engine/generation.py, _announce), as it does to the tab that asked.
                continue
            if message.llm_role == "tool" and not data.get("is_error"):
                # Named now, with the reader's rights: a record renamed since shows its name.
                data = dict(data, records=tools.get(
                    data.get("name"), self.env["llm.tool"])._llm_touched_records(
                        data.get("arguments") or {}, text))
            result.append({"id": message.id, "role": message.llm_role, "text": text,
                           "data": data, "date": message.date})
        return {**self._llm_ui_summary(), "messages": result, "usage": self._llm_ui_usage()}

    @api.model
    def llm_ui_options(self):
        """What the header pickers offer, and who can configure a provider when none is."""
        models_ = self.env["llm.model"]._llm_chat_models()
        return {
            "models": [{
                "id": model.id,
                "name": model.name,
                "provider_id": model.provider_id.id,
                "provider_name": model.provider_id.name,
                "is_default": model.is_default,
                "supports_tools": model.supports_tools,
                # The Auto option says when its "cheapest" rests on missing prices.
                "price_missing": model.price_missing,
            } for model in models_],
            "tools": self.env["llm.tool"]._llm_ui_options(),
            # What a new conversation starts with, shown by the chat's drafts.
            "default_tool_names": self.env["llm.tool"]._llm_default_names(),
            "can_configure": self.env.user.has_group("llm_thread.group_llm_manager"),
            # Without any model: where (the current company; others may have providers),
            # whom to ask, and the providers waiting for their models (not "no provider").
            **({} if models_ else {
                "company_name": self.env.company.name,
                "manager_names": self.env["llm.budget"]._llm_manager_names(self.env.company),
                "empty_provider_names": ", ".join(
                    self.env["llm.provider"]._llm_without_chat_models().mapped("name")),
            }),
        }

    @api.model
    def llm_ui_readable_models(self, search="", limit=20):
        """Models the user may read, for the related-record picker: first the business ones
        (those a menu the user can open shows), then the others, each by name."""
        domain = [("transient", "=", False), ("abstract", "=", False)] \
            if "abstract" in self.env["ir.model"]._fields else [("transient", "=", False)]
        if search:
            domain += ["|", ("name", "ilike", search), ("model", "ilike", search)]
        business = self._llm_ui_menu_models()
        found = self.env["ir.model"].sudo().search(domain, order="name")
        result = []
        for model in sorted(found, key=lambda m: m.model not in business):
            if model.model not in self.env or self.env[model.model]._abstract:
                continue
            if not self.env[model.model].has_access("read"):
                continue
            result.append({"model": model.model, "name": model.name})
            if len(result) >= limit:
                break
        return result

    @api.model
    def _llm_ui_menu_models(self):
        """The models of the window actions behind the menus the user can open: menus they
        may see, under parents they may see all the way up (as the web client shows them)."""
        Menu = self.env["ir.ui.menu"]
        visible = Menu._visible_menu_ids()
        menus = Menu.browse(visible).sudo().filtered(
            lambda menu: all(int(id_) in visible for id_ in menu.parent_path.split("/")[:-1]))
        return {action.res_model for action in menus.mapped("action")
                if action and action._name == "ir.actions.act_window"}

    # ------------------------------------------------------------------
    # Changing
    # ------------------------------------------------------------------

    @api.model
    def llm_ui_create(self, res_model=False, res_id=False, values=None):
        """A new thread of the current user, on the default chat model, linked if asked.

        The chat creates a thread when its first message is sent, with what the user chose
        meanwhile in ``values`` (the fields ``llm_update`` accepts, checked as it checks them).
        """
        create_values = {"user_id": self.env.uid}
        model = self._llm_ui_default_model()
        if model:
            create_values.update(provider_id=model.provider_id.id, model_id=model.id)
        if res_model:  # checked by create (_llm_check_client_values)
            create_values.update(res_model=res_model, res_id=res_id)
        thread = self.create(create_values)
        if values:
            thread.llm_update(values)
        return thread.llm_ui_load()

    def llm_ui_link(self, res_model=False, res_id=False):
        """Link the thread to a record the user can read (checked by write,
        _llm_check_client_values), or unlink it."""
        self._llm_check_owner()
        self.write({"res_model": res_model or False, "res_id": res_id or False})
        return self._llm_ui_summary()

    def llm_ui_delete(self):
        self._llm_check_owner()
        self.unlink()
        return True

    def llm_ui_recipients(self):
        """The partners Odoo's own "Send message" suggests for the linked record (mail's
        ``_message_get_suggested_recipients``: a contact itself, a document's customer or
        responsible, followers left out as they are notified anyway), for the composer that
        "Send as message" opens. Those known by an email only are left out: mail creates
        their partner when the user ticks them, which the composer's To field does not."""
        self._llm_check_owner()
        self.ensure_one()
        record = self._llm_record()
        if record is None or not hasattr(record, "_message_get_suggested_recipients"):
            return []
        record.check_access("read")
        return [recipient["partner_id"] for recipient in record._message_get_suggested_recipients()
                if recipient.get("partner_id")]

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _llm_ui_summary(self):
        self.ensure_one()
        record = self._llm_record()
        record_name = ""
        if record:
            try:
                record.check_access("read")
                record_name = record.display_name
            except AccessError:
                record_name = ""
        gone = "" if record else self._llm_record_gone()
        if gone:
            record_name = self.env._("Deleted record (%s)", gone)
        return {
            "id": self.id,
            "name": self.name,
            "write_date": self.write_date,
            "provider_id": self.provider_id.id or False,
            "model_id": self.model_id.id or False,
            # The name too: the picker shows a model the user may no longer pick.
            "model_name": self.model_id.sudo().display_name or "",
            "auto_model": self.auto_model,
            "tool_names": self.tool_names or [],
            "res_model": self.res_model or False,
            "res_id": self.res_id or False,
            "record_name": record_name,
            # The linked record no longer exists: its name says so, and it is no link.
            "record_deleted": bool(gone),
            "generation_state": self.generation_state,
            "generation_error": self.generation_error or "",
            # Started by a Run Assistant action (the list marks it).
            "from_automation": bool(self.llm_action_id),
        }

    def _llm_ui_usage(self):
        """The total of every provider call of the thread, as LLM > Reporting > Usage bills
        it: the messages shown are the active path only, without the earlier versions of
        regenerated answers and edited questions, whose calls were billed all the same.
        None without any call. Read as the system: the owner was checked, and a line of
        their thread written for another user (an automation) is part of it too."""
        self.ensure_one()
        lines = self.env["llm.usage"].sudo().search([("thread_id", "=", self.id)])
        if not lines:
            return None
        currency = lines.currency_id
        model = lines.model_id
        return {
            "input_tokens": sum(lines.mapped("input_tokens")),
            "output_tokens": sum(lines.mapped("output_tokens")),
            "estimated": any(lines.mapped("estimated")),
            # Not added up across currencies (a thread used in two companies).
            "cost": sum(lines.mapped("cost")) if len(currency) == 1 else None,
            "currency": currency.name if len(currency) == 1 else "",
            "model": model.name if len(model) == 1 else "",
        }

    def _llm_ui_check_record(self, res_model, res_id):
        check_input(self.env, {"res_model": res_model, "res_id": res_id},
                    {"res_model": ("text",), "res_id": ("id",)})
        if res_model not in self.env:
            raise UserError(self.env._("Unknown model %s.", res_model))
        record = self.env[res_model].browse(res_id).exists()
        if not record:
            raise UserError(self.env._("This record does not exist."))
        record.check_access("read")

    @api.model
    def _llm_ui_default_model(self):
        """A new conversation's model: a provider's default model, else the first model, of
        the current company's providers or the shared ones (the company's first), before
        those of the user's other companies, whatever their sequence: a user working in
        company A expects A's provider, billed to A."""
        company = self.env.company

        def order(model):
            owner = model.provider_id.company_id
            # Another company's last; then defaults first; the current company's before shared.
            return bool(owner) and owner != company, not model.is_default, not owner

        return self.env["llm.model"]._llm_chat_models().sorted(order)[:1]
