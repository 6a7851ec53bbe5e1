from odoo.exceptions import UserError, ValidationError
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


@tagged("post_install", "-at_install")
class TestFrench(TransactionCase):
    """The French shipped in i18n/fr.po reaches a French user: menus, models, fields and
    selections, the seeded assistants and prompts, the web client's strings (_t) and the
    server's messages (_) with their placeholders filled."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["llm_thread"], ["fr_FR"], overwrite=True)
        cls.fr = cls.env(context=dict(cls.env.context, lang="fr_FR"))

    def test_backend_labels(self):
        self.assertEqual(self.fr.ref("llm_thread.menu_llm_provider").name, "Fournisseurs")
        self.assertEqual(self.fr.ref("llm_thread.menu_llm_tool_log").name, "Journal d'audit des outils")
        self.assertEqual(self.fr["ir.model"]._get("llm.thread").name, "Conversation LLM")
        fields = self.fr["llm.tool"].fields_get(["risk", "requires_approval"], ["string", "selection"])
        self.assertEqual(fields["requires_approval"]["string"], "Nécessite une approbation")
        self.assertEqual(dict(fields["risk"]["selection"])["read"], "Lecture")

    def test_seeded_assistants_and_prompts(self):
        helper = self.fr.ref("llm_thread.assistant_odoo_helper")
        self.assertEqual(helper.name, "Assistant Odoo")
        self.assertIn("Vous êtes un assistant dans Odoo, au service de {{ user.name }} de {{ company.name }}.",
                      helper.instructions)
        self.assertEqual(self.fr.ref("llm_thread.prompt_summarise").name, "Résumer cet enregistrement")
        self.assertEqual(self.fr.ref("llm_thread.assistant_record_summariser").starter_prompts,
                         "Résumer cet enregistrement\nQu'est-ce qui manque ou est en retard ici ?")
        # English stays the source for an English user.
        self.assertEqual(self.env.ref("llm_thread.assistant_odoo_helper").with_context(lang="en_US").name,
                         "Odoo helper")

    def test_web_client_strings(self):
        modules, _lang = self.env["ir.http"].get_translations_for_webclient(["llm_thread"], "fr_FR")
        terms = {message["id"]: message["string"] for message in modules["llm_thread"]["messages"]}
        self.assertEqual(terms["Search conversations"], "Rechercher des conversations")
        self.assertEqual(terms["Link a record"], "Lier un enregistrement")
        self.assertEqual(terms["This conversation: %s"], "Cette conversation : %s")
        self.assertEqual(terms["Ask anything… (Enter to send, Shift+Enter for a new line)"],
                         "Demandez ce que vous voulez… (Entrée pour envoyer, Maj+Entrée pour un retour à la ligne)")

    def test_assistant_test_button_and_ask_ai(self):
        """The Test button of assistants, Ask AI and the Settings block, in French."""
        arch = self.fr["llm.assistant"].get_view(
            self.fr.ref("llm_thread.llm_assistant_view_form").id)["arch"]
        self.assertIn('string="Tester"', arch)
        self.assertIn("Les conversations de test ne portent sur aucun enregistrement", arch)
        assistant = self.fr["llm.assistant"].create({"name": "Pirate", "active": False})
        with self.assertRaisesRegex(UserError, r"L'assistant Pirate est archivé : désarchivez-le"):
            assistant.action_llm_test()
        modules, _lang = self.env["ir.http"].get_translations_for_webclient(["llm_thread"], "fr_FR")
        terms = {message["id"]: message["string"] for message in modules["llm_thread"]["messages"]}
        self.assertEqual(terms["Ask AI"], "Demander à l'IA")

    def test_server_messages_with_placeholders(self):
        with self.assertRaises(ValidationError) as caught:
            self.fr["llm.provider"].create({"name": "Fournisseur local", "base_url": "ftp://exemple"})
        self.assertEqual(str(caught.exception),
                         "L'URL de base de Fournisseur local doit être une adresse http:// ou https://, "
                         "par ex. https://api.openai.com/v1.")
        with self.assertRaises(ValidationError) as caught:
            self.fr["llm.budget"].create({"name": "Équipe", "scope": "user", "limit": 100})
        self.assertEqual(str(caught.exception),
                         "Le budget \"Équipe\" concerne un seul utilisateur : choisissez l'utilisateur.")
