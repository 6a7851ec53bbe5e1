"""Web page sources, fetched from the fake provider server (a local HTTP server answering what
each test queues): headings kept, citations linking to the page, and the fetcher's bounds:
robots.txt, redirects, size, timeout, each failure a clear reason on the source."""

from odoo.tests import tagged

from ..models import llm_knowledge_web as web
from .fake_provider import Unresponsive, refused_url
from .test_knowledge import KnowledgeCase

PAGE = """<html><head><title>Returns</title><script>track()</script></head><body>
<h1>Returns</h1><p>Customers may return any product within 30 days.</p>
<h2>Refunds</h2><p>Refunds are paid back to the original card within seven days.</p>
</body></html>"""


@tagged("post_install", "-at_install")
class TestKnowledgeWeb(KnowledgeCase):

    def setUp(self):
        super().setUp()
        # The fake listens on the loopback, which a source may not read unless allowed.
        self.env["ir.config_parameter"].set_param(web.ALLOWED_NETWORKS_PARAM, "127.0.0.0/8")

    def page(self, path, body=PAGE, content_type="text/html; charset=utf-8", status=200,
             headers=None, times=None):
        self.fake.reply("GET", path, status, body=body,
                        headers={"Content-Type": content_type, **(headers or {})}, times=times)

    def url_source(self, *paths, **values):
        return self.env["llm.knowledge.source"].create({
            "name": "Site", "kind": "url", "embedding_model_id": self.embedder.id,
            "urls": "\n".join(self.fake.root_url + path for path in paths), **values})

    def fetched(self):
        return [request.path for request in self.fake.requests if request.method == "GET"]

    def test_page_by_its_headings_cited_with_its_url(self):
        self.fake.reply("GET", "/robots.txt", 404, times=None)
        self.page("/returns")
        source = self.url_source("/returns")
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        self.assertEqual([(c.heading, c.content) for c in source.chunk_ids], [
            ("Returns", "Customers may return any product within 30 days."),
            ("Returns > Refunds", "Refunds are paid back to the original card within seven days."),
        ])
        _result, chunks = self.search("How long until refunds are paid back?")
        self.assertEqual(chunks[0]._llm_citation(), {
            "label": "Returns > Refunds", "url": self.fake.root_url + "/returns"})
        request = next(r for r in self.fake.requests if r.path == "/returns")
        self.assertIn("OdooLLMThread", request.headers["user-agent"])

    def test_only_the_public_internet_unless_allowed(self):
        """A manager's source cannot read the server's own network (its cloud's metadata
        service, an intranet, Odoo itself): the address connected to is checked before a byte
        is sent, robots.txt included, until an administrator allows that network."""
        self.fake.reply("GET", "/robots.txt", 404, times=None)
        self.page("/returns")
        params = self.env["ir.config_parameter"]
        params.set_param(web.ALLOWED_NETWORKS_PARAM, "")
        source = self.url_source("/returns")
        self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("/returns could not be indexed: its server's address 127.0.0.1 is not on "
                      "the public internet; an administrator can allow its network in the system "
                      "parameter llm_thread.web_source_allowed_networks", source.index_error)
        self.assertEqual(self.fetched(), [])
        # A name that resolves to the loopback is the loopback.
        source.urls = self.fake.root_url.replace("127.0.0.1", "localhost") + "/returns"
        self.index()
        self.assertIn("address 127.0.0.1 is not on the public internet", source.index_error)
        self.assertEqual(self.fetched(), [])
        params.set_param(web.ALLOWED_NETWORKS_PARAM, "10.0.0.0/8; intranet")
        source.action_index()
        self.index()
        self.assertIn("llm_thread.web_source_allowed_networks holds 'intranet', which is not a "
                      "network", source.index_error)
        params.set_param(web.ALLOWED_NETWORKS_PARAM, "10.0.0.0/8, 127.0.0.1")
        source.action_index()
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        self.assertEqual(self.fetched(), ["/robots.txt", "/returns"])

    def test_index_again_fetches_the_page_anew(self):
        self.fake.reply("GET", "/robots.txt", 404, times=None)
        self.page("/returns", times=1)
        source = self.url_source("/returns")
        self.index()
        self.page("/returns", "<h1>Returns</h1><p>Returns are free for 60 days now.</p>")
        source.action_index()
        self.index()
        self.assertEqual(source.state, "ready", source.index_error)
        self.assertEqual(source.chunk_ids.mapped("content"), ["Returns are free for 60 days now."])
        self.assertEqual(self.fetched().count("/returns"), 2)

    def test_robots_txt_is_respected(self):
        self.fake.reply("GET", "/robots.txt", body="User-agent: *\nDisallow: /private\n",
                        headers={"Content-Type": "text/plain"}, times=None)
        self.page("/private/prices")
        source = self.url_source("/private/prices")
        self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("robots.txt does not allow OdooLLMThread to read it", source.index_error)
        self.assertNotIn("/private/prices", self.fetched())
        # A site whose robots.txt fails (5xx) is not crawled at all (RFC 9309).
        self.fake.reset()
        self.fake.reply("GET", "/robots.txt", 503, times=None)
        self.page("/returns")
        source.urls = self.fake.root_url + "/returns"
        self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("robots.txt could not be read (HTTP 503)", source.index_error)
        self.assertNotIn("/returns", self.fetched())

    def test_redirects_are_followed_and_bounded(self):
        self.fake.reply("GET", "/robots.txt", 404, times=None)
        for hop in range(1, 8):
            self.fake.reply("GET", f"/hop{hop}", 302, headers={"Location": f"/hop{hop + 1}"},
                            times=None)
        self.page("/hop8")
        self.fake.reply("GET", "/old", 301, headers={"Location": "/hop8"}, times=None)
        moved = self.url_source("/old")
        self.index()
        self.assertEqual(moved.state, "ready", moved.index_error)
        self.assertEqual(moved.chunk_ids[0]._llm_citation()["url"], self.fake.root_url + "/hop8")
        endless = self.url_source("/hop1")
        self.index()
        self.assertEqual(endless.state, "error")
        self.assertIn("redirects more than 5 times", endless.index_error)
        self.assertNotIn("/hop7", self.fetched())

    def test_size_cap(self):
        self.patch(web, "MAX_BYTES", 4096)
        self.fake.reply("GET", "/robots.txt", 404, times=None)
        self.page("/huge", "<p>" + "word " * 2000 + "</p>")
        source = self.url_source("/huge")
        self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("/huge could not be indexed: it is larger than 4 KB", source.index_error)

    def test_timeout(self):
        self.patch(web, "TIMEOUT", (0.5, 0.5))
        with Unresponsive() as down:
            source = self.env["llm.knowledge.source"].create({
                "name": "Down", "kind": "url", "urls": down.url + "/page"})
            self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("the server did not answer within 0.5 seconds", source.index_error)
        self.assertNotIn("robots.txt", source.index_error, "the server, not its robots.txt")

    def test_server_not_reached(self):
        source = self.env["llm.knowledge.source"].create({
            "name": "Nobody", "kind": "url", "urls": refused_url() + "/page"})
        self.index()
        self.assertEqual(source.state, "error")
        self.assertIn("the server could not be reached (ConnectionError)", source.index_error)
        self.assertNotIn("robots.txt", source.index_error)

    def test_not_a_page_and_not_a_url(self):
        self.fake.reply("GET", "/robots.txt", 404, times=None)
        self.page("/logo.png", b"\x89PNG", content_type="image/png")
        source = self.url_source("/logo.png")
        self.index()
        self.assertIn("it is image/png, not an HTML or text page", source.index_error)
        with self.assertRaisesRegex(Exception, "is not a web address"):
            source.urls = "ftp://example.com/file"
