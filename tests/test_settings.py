"""The AI block of General Settings (res.config.settings): the engine's system parameters
read and written there, and the links to the LLM configuration."""

from odoo.exceptions import ValidationError
from odoo.tests import Form, TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestSettings(TransactionCase):

    def test_parameters_read_and_written_with_their_defaults(self):
        params = self.env["ir.config_parameter"].sudo()
        for key in ("llm_thread.max_iterations", "llm_thread.action_runs_at_once"):
            params.search([("key", "=", key)]).unlink()
        form = Form(self.env["res.config.settings"])
        self.assertEqual((form.llm_max_iterations, form.llm_action_runs_at_once), (8, 4),
                         "the engine's defaults (llm_thread.py) when no parameter is set")
        form.llm_max_iterations = 12
        form.llm_action_runs_at_once = 2
        form.save().execute()
        self.assertEqual(params.get_param("llm_thread.max_iterations"), "12")
        self.assertEqual(params.get_param("llm_thread.action_runs_at_once"), "2")
        thread = self.env["llm.thread"].create({"name": "Settings"})
        self.assertEqual(thread._llm_max_iterations(), 12, "what the engine reads")
        params.set_param("llm_thread.max_iterations", "5")
        self.assertEqual(self.env["res.config.settings"].create({}).llm_max_iterations, 5)

    def test_parameters_must_be_positive(self):
        with self.assertRaisesRegex(ValidationError, "must be at least 1"):
            self.env["res.config.settings"].create({"llm_max_iterations": 0})

    def test_block_links_to_the_configuration(self):
        arch = self.env["res.config.settings"].get_view(view_type="form")["arch"]
        self.assertIn('id="llm_thread_settings"', arch)
        for xmlid in ("action_llm_provider", "action_llm_model", "action_llm_assistant",
                      "action_llm_budget", "action_llm_usage"):
            action = self.env.ref(f"llm_thread.{xmlid}")
            self.assertIn(f'name="{action.id}"', arch, xmlid)
