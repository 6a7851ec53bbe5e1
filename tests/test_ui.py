from odoo.tests import HttpCase, tagged

from odoo.addons.web.tests.test_js import HOOTCommon, unit_test_error_checker


@tagged("post_install", "-at_install")
class TestUi(HttpCase):
    """The browser tier: our Hoot suite inside the real web client, and the tours."""

    def test_hoot_suite(self):
        # Only the "@llm_thread" suite: Hoot selects suites by a hash of their name (see web's
        # HOOTCommon); the whole web suite would take most of an hour.
        suite = HOOTCommon._generate_hash(self, "@llm_thread")
        self.browser_js(
            f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&suite={suite}",
            "", "", login="admin", timeout=600,
            success_signal="[HOOT] test suite succeeded", error_checker=unit_test_error_checker,
        )

    def test_chat_app_tour(self):
        self.start_tour("/odoo", "llm_thread_chat_app", login="admin")
