from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    """The module's groups, menus and access rights, as an administrator and a user see them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.group_user = cls.env.ref("llm_thread.group_llm_user")
        cls.group_manager = cls.env.ref("llm_thread.group_llm_manager")
        cls.employee = new_test_user(cls.env, login="llm_employee", groups="base.group_user")
        cls.settings_admin = new_test_user(cls.env, login="llm_admin", groups="base.group_system")
        cls.portal = new_test_user(cls.env, login="llm_portal", groups="base.group_portal")

    def test_groups_follow_odoo_roles(self):
        self.assertIn(self.group_user, self.employee.groups_id, "every internal user may chat")
        self.assertNotIn(self.group_manager, self.employee.groups_id)
        self.assertIn(self.group_manager, self.settings_admin.groups_id, "Settings admins manage LLM")
        self.assertIn(self.group_user, self.settings_admin.groups_id)
        self.assertNotIn(self.group_user, self.portal.groups_id, "portal users never reach the chat")
        self.assertEqual(self.group_user.category_id, self.group_manager.category_id)

    def test_menus_by_group(self):
        chat = self.env.ref("llm_thread.menu_llm_chat")
        configuration = self.env.ref("llm_thread.menu_llm_configuration")
        self.assertEqual(chat.action, self.env.ref("llm_thread.action_llm_chat"))
        self.assertEqual(chat.action.tag, "llm_thread.chat")
        self.assertEqual(chat.action.path, "llm-chat")

        def visible_menus(user):
            return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

        self.assertIn(chat.id, visible_menus(self.employee))
        self.assertNotIn(configuration.id, visible_menus(self.employee))
        # Every user keeps private prompts: their menu is not under Configuration.
        self.assertIn(self.env.ref("llm_thread.menu_llm_prompt").id, visible_menus(self.employee))
        self.assertIn(chat.id, visible_menus(self.settings_admin))
        self.assertEqual(self.env.ref("llm_thread.menu_llm_root").groups_id, self.group_user)

    def test_access_rights_apply(self):
        """Every model the addon defines has ACL rows, and each row gives its group what it says
        and nothing to a portal user."""
        own_models = [name for name, model in self.env.registry.items()
                      if model._original_module == "llm_thread" and not model._abstract]
        acl = self.env["ir.model.access"].search([("model_id.model", "in", own_models)])
        self.assertFalse(set(own_models) - set(acl.mapped("model_id.model")),
                         "every model of the addon has access rights")
        for row in acl:
            user = self.settings_admin if row.group_id == self.group_manager else self.employee
            records = self.env[row.model_id.model].with_user(user)
            for operation, allowed in (("read", row.perm_read), ("write", row.perm_write),
                                       ("create", row.perm_create), ("unlink", row.perm_unlink)):
                if allowed:
                    self.assertTrue(records.has_access(operation), f"{row.name}: {operation}")
            if row.group_id:
                self.assertFalse(self.env[row.model_id.model].with_user(self.portal).has_access("read"),
                                 f"{row.name}: a portal user must not read {row.model_id.model}")

    def test_providers_are_per_company(self):
        """A provider serves its own company (or every company when it has none)."""
        other_company = self.env["res.company"].create({"name": "LLM Other Company"})
        Provider = self.env["llm.provider"]
        shared = Provider.create({"name": "Shared", "company_id": False, "base_url": "http://127.0.0.1:9/v1"})
        own = Provider.create({"name": "Own", "base_url": "http://127.0.0.1:9/v1"})
        foreign = Provider.create({"name": "Foreign", "company_id": other_company.id,
                                   "base_url": "http://127.0.0.1:9/v1"})
        foreign_model = self.env["llm.model"].create({"name": "m", "api_id": "m", "provider_id": foreign.id})
        visible = Provider.with_user(self.employee).search([("id", "in", (shared | own | foreign).ids)])
        self.assertEqual(visible, shared | own)
        self.assertFalse(self.env["llm.model"].with_user(self.employee).search([("id", "=", foreign_model.id)]))
