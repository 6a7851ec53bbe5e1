"""What the chat UI reads and changes in one call each: the thread list, a thread with its
messages, the pickers' options, a new or linked thread.

Every method works on the current user's OWN threads only, managers included (their audit right
to read every thread is for the backend views, not for chatting in someone's name).
"""

from odoo import api, models
from odoo.exceptions import AccessError, UserError

from .llm_thread import check_input, message_text

LIST_LIMIT = 200


class LlmThreadUi(models.Model):
    _inherit = "llm.thread"

    # ------------------------------------------------------------------
    # Reading
    # ------------------------------------------------------------------

    @api.model
    def llm_ui_list(self, search="", res_model=False, res_id=False, limit=LIST_LIMIT):
        """The user's threads, newest first, optionally only those linked to one record."""
        domain = [("user_id", "=", self.env.uid)]
        if search:
            domain.append(("name", "ilike", search))
        if res_model:
            domain += [("res_model", "=", res_model), ("res_id", "=", res_id)]
        threads = self.search(domain, limit=limit, order="write_date desc, id desc")
        return [thread._llm_ui_summary() for thread in threads]

    def llm_ui_load(self):
        """The thread and its messages, as the conversation component shows them."""
        self._llm_check_owner()
        messages = self._llm_history()
        return {
            **self._llm_ui_summary(),
            "messages": [{
                "id": message.id,
                "role": message.llm_role,
                "text": message_text(message),
                "data": message.body_json or {},
                "date": message.date,
            } for message in messages],
        }

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
            } for model in models_],
            "tools": self.env["llm.tool"]._llm_ui_options(),
            "can_configure": self.env.user.has_group("llm_thread.group_llm_manager"),
        }

    @api.model
    def llm_ui_readable_models(self, search="", limit=20):
        """Models the user may read, for the related-record picker."""
        domain = [("transient", "=", False), ("abstract", "=", False)] \
            if "abstract" in self.env["ir.model"]._fields else [("transient", "=", False)]
        if search:
            domain += ["|", ("name", "ilike", search), ("model", "ilike", search)]
        result = []
        for model in self.env["ir.model"].sudo().search(domain, order="name"):
            if model.model not in self.env or self.env[model.model]._abstract:
                continue
            if not self.env[model.model].has_access("read"):
                continue
            result.append({"model": model.model, "name": model.name})
            if len(result) >= limit:
                break
        return result

    # ------------------------------------------------------------------
    # Changing
    # ------------------------------------------------------------------

    @api.model
    def llm_ui_create(self, res_model=False, res_id=False):
        """A new thread of the current user, on the default chat model, linked if asked."""
        values = {"user_id": self.env.uid}
        model = self._llm_ui_default_model()
        if model:
            values.update(provider_id=model.provider_id.id, model_id=model.id)
        if res_model:
            self._llm_ui_check_record(res_model, res_id)
            values.update(res_model=res_model, res_id=res_id)
        return self.create(values).llm_ui_load()

    def llm_ui_link(self, res_model=False, res_id=False):
        """Link the thread to a record the user can read, or unlink it."""
        self._llm_check_owner()
        if res_model:
            self._llm_ui_check_record(res_model, res_id)
        self.write({"res_model": res_model or False, "res_id": res_id or False})
        return self._llm_ui_summary()

    def llm_ui_delete(self):
        self._llm_check_owner()
        self.unlink()
        return True

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _llm_ui_summary(self):
        self.ensure_one()
        record = self.get_context()
        record_name = ""
        if record:
            try:
                record.check_access("read")
                record_name = record.display_name
            except AccessError:
                record_name = ""
        return {
            "id": self.id,
            "name": self.name,
            "write_date": self.write_date,
            "provider_id": self.provider_id.id or False,
            "model_id": self.model_id.id or False,
            "auto_model": self.auto_model,
            "tool_names": self.tool_names or [],
            "res_model": self.res_model or False,
            "res_id": self.res_id or False,
            "record_name": record_name,
            "generation_state": self.generation_state,
            "generation_error": self.generation_error or "",
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
        models_ = self.env["llm.model"]._llm_chat_models()
        return models_.filtered("is_default")[:1] or models_[:1]
