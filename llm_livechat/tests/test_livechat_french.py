"""The French shipped in llm_livechat/i18n/fr.po reaches a French user."""

from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestLivechatFrench(TransactionCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(["llm_livechat"], ["fr_FR"], overwrite=True)
        cls.fr = cls.env(context=dict(cls.env.context, lang="fr_FR"))

    def test_channel_form_labels(self):
        fields = self.fr["im_livechat.channel"].fields_get(
            ["llm_assistant_id", "llm_agent_mode"], ["string", "selection"])
        self.assertEqual(fields["llm_assistant_id"]["string"], "Assistant IA")
        self.assertEqual(dict(fields["llm_agent_mode"]["selection"])["always"], "Toujours en premier")

    def test_web_client_strings(self):
        modules, _lang = self.env["ir.http"].get_translations_for_webclient(["llm_livechat"], "fr_FR")
        terms = {message["id"]: message["string"] for message in modules["llm_livechat"]["messages"]}
        self.assertEqual(terms["Give to the AI"], "Confier à l'IA")

    def test_server_messages(self):
        channel = self.fr["im_livechat.channel"].create({"name": "Support"})
        self.assertEqual(channel._llm_create_agent_user().name, "Assistant Support")
        with self.assertRaises(ValidationError) as caught:
            channel.llm_hours_from = 18
        self.assertEqual(str(caught.exception),
                         "Les heures des opérateurs vont de 0 à 24, et commencent avant de finir.")
