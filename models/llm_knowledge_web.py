"""Web pages as a knowledge source: fetched by the server at each indexing (so Index Again and
Retry fetch them anew), cut by their headings, and cited with a link to the page.

The fetch is a polite, bounded client: a timeout on connecting and on each read, a size cap
(the body is read in pieces and refused past it), robots.txt of every host on the way
respected, and redirects followed by hand, at most ``MAX_REDIRECTS``, each hop checked against
its host's robots.txt. A page that cannot be read puts the source in error with the reason.

It reaches only the public internet unless an administrator allows more: an LLM manager is not
a system administrator, and a source that could name the server's own network would read
what only the server may (the cloud's metadata service and its credentials, an intranet's
admin pages, Odoo's own database manager) and hand it to every user of the source through
answers and citations.
"""

import contextvars
import ipaddress
import urllib.robotparser
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from . import llm_knowledge_chunking as chunking

ROBOT_NAME = "OdooLLMThread"  # the name robots.txt rules address
USER_AGENT = f"{ROBOT_NAME}/1.0 (knowledge source indexer)"
TIMEOUT = (5, 15)  # seconds: connecting, then each read
MAX_BYTES = 2 * 1024 * 1024  # a page; robots.txt gets the same cap
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
# Networks besides the public internet a source may read (an intranet's wiki), comma-separated.
ALLOWED_NETWORKS_PARAM = "llm_thread.web_source_allowed_networks"


class PageError(Exception):
    """A page that could not be read, with the reason in the user's words."""


class LlmKnowledgeSourceWeb(models.Model):
    _inherit = "llm.knowledge.source"

    urls = fields.Text("URLs", help="The web pages to index, one URL a line.")

    @api.constrains("kind", "urls")
    def _check_urls(self):
        for source in self.filtered(lambda s: s.kind == "url"):
            urls = source._llm_urls()
            if not urls:
                raise ValidationError(self.env._("The source %s indexes web pages: give at "
                                                 "least one URL.", source.name))
            for url in urls:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise ValidationError(self.env._(
                        "%s is not a web address: write it in full, e.g. "
                        "https://www.example.com/page.", url))


    def _llm_urls(self):
        return [line.strip() for line in (self.urls or "").splitlines() if line.strip()]

    def _llm_pieces_url(self):
        fetcher = PageFetcher(self.env["ir.config_parameter"].sudo().get_param(
            ALLOWED_NETWORKS_PARAM, ""))
        pieces = []
        for url in self._llm_urls():
            try:
                final_url, content_type, text = fetcher.fetch(url)
            except PageError as error:
                raise UserError(self.env._("%(url)s could not be indexed: %(reason)s",
                                           url=url, reason=error.args[0])) from None
            if content_type in HTML_TYPES:
                sections = chunking.html_sections(text)
            else:
                sections = chunking.markdown_sections(text)
            for piece in chunking.chunk_sections(sections):
                pieces.append({"content": piece.text, "heading": piece.heading or final_url,
                               "url": final_url})
        return pieces


# The networks the fetch running in this thread (or greenlet) may reach besides the public
# internet: the connections read it as they open, inside ``PageFetcher.get()``.
_allowed_networks = contextvars.ContextVar("llm_web_allowed_networks", default=())


class _PublicPeerOnly:
    """An urllib3 connection that checks the address it actually connected to, before a byte
    is sent: whatever the name resolved to (DNS rebinding included), for every hop of a
    redirect and for robots.txt alike. Through an HTTP proxy the connection is the proxy's and
    the proxy decides."""

    def _new_conn(self):
        sock = super()._new_conn()
        address = ipaddress.ip_address(sock.getpeername()[0].split("%")[0])
        address = getattr(address, "ipv4_mapped", None) or address
        if (not address.is_global or address.is_multicast) \
                and not any(address in network for network in _allowed_networks.get()):
            sock.close()
            raise PageError(
                f"its server's address {address} is not on the public internet; an "
                f"administrator can allow its network in the system parameter "
                f"{ALLOWED_NETWORKS_PARAM} (e.g. 10.0.0.0/8, comma-separated)")
        return sock


class _PublicHTTPConnection(_PublicPeerOnly, HTTPConnection):
    pass


class _PublicHTTPSConnection(_PublicPeerOnly, HTTPSConnection):
    pass


class _PublicHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PublicHTTPConnection


class _PublicHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PublicHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _PublicHTTPPool,
                                                   "https": _PublicHTTPSPool}


def parse_networks(value):
    """The networks of the system parameter ``value``; raises ``PageError`` on a bad one."""
    networks = []
    for item in (value or "").replace(";", ",").split(","):
        if item.strip():
            try:
                networks.append(ipaddress.ip_network(item.strip(), strict=False))
            except ValueError:
                raise PageError(f"the system parameter {ALLOWED_NETWORKS_PARAM} holds "
                                f"{item.strip()!r}, which is not a network such as "
                                "10.0.0.0/8 or 192.168.1.20") from None
    return tuple(networks)


class PageFetcher:
    """Fetches pages as a polite crawler; one per indexing run (robots.txt read once a host).
    ``allowed_networks``: the system parameter's value (see ``ALLOWED_NETWORKS_PARAM``)."""

    def __init__(self, allowed_networks=""):
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.mount("http://", _PublicOnlyAdapter())
        self.session.mount("https://", _PublicOnlyAdapter())
        try:
            self.allowed_networks = parse_networks(allowed_networks)
        except PageError as error:
            self.allowed_networks = error  # given for every page, robots.txt first
        self.robots = {}

    def fetch(self, url):
        """``(final URL, content type, text)`` of the page at ``url``; raises ``PageError``."""
        for _hop in range(MAX_REDIRECTS + 1):
            self.check_robots(url)
            response = self.get(url)
            if response.is_redirect:
                location = response.headers.get("Location")
                response.close()
                url = urljoin(url, location)
                if urlsplit(url).scheme not in ("http", "https"):
                    raise PageError(f"it redirects to {url}, which is not a web page")
                continue
            with response:
                if response.status_code != 200:
                    raise PageError(f"the server answered HTTP {response.status_code}")
                content_type = (response.headers.get("Content-Type") or "").split(";")[0]
                content_type = content_type.strip().lower()
                if content_type not in HTML_TYPES + TEXT_TYPES:
                    raise PageError(f"it is {content_type or 'of no stated type'}, not an HTML "
                                    "or text page")
                body = self.read(response)
                # Without a charset, requests assumes ISO-8859-1 for text; the web is UTF-8.
                declared = "charset=" in (response.headers.get("Content-Type") or "").lower()
                encoding = response.encoding if declared else "utf-8"
                return url, content_type, body.decode(encoding, "replace")
        raise PageError(f"it redirects more than {MAX_REDIRECTS} times")

    def get(self, url):
        if isinstance(self.allowed_networks, PageError):
            raise self.allowed_networks
        allowed = _allowed_networks.set(self.allowed_networks)
        try:
            return self.session.get(url, timeout=TIMEOUT, stream=True, allow_redirects=False)
        except requests.Timeout:
            raise PageError(f"the server did not answer within {TIMEOUT[1]} seconds") from None
        except requests.RequestException as error:
            raise PageError(f"the server could not be reached ({type(error).__name__})") from None
        finally:
            _allowed_networks.reset(allowed)

    def read(self, response):
        """The body, refused past ``MAX_BYTES`` (read in pieces: never more in memory)."""
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BYTES:
            raise PageError(f"it is larger than {MAX_BYTES // 1024:,} KB")
        body = bytearray()
        try:
            for piece in response.iter_content(64 * 1024):
                body += piece
                if len(body) > MAX_BYTES:
                    raise PageError(f"it is larger than {MAX_BYTES // 1024:,} KB")
        except requests.RequestException:
            raise PageError(f"the server did not send the page within {TIMEOUT[1]} "
                            "seconds") from None
        return bytes(body)

    def check_robots(self, url):
        """Raise ``PageError`` unless the robots.txt of ``url``'s host lets us read it. No
        robots.txt (HTTP 3xx, 4xx) allows everything; one that cannot be read (5xx, no
        answer) nothing, as RFC 9309 asks of crawlers."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self.robots:
            self.robots[origin] = self.read_robots(origin)
        rules = self.robots[origin]
        if isinstance(rules, PageError):
            raise rules
        if not rules.can_fetch(ROBOT_NAME, url):
            raise PageError(f"its site's robots.txt does not allow {ROBOT_NAME} to read it")

    def read_robots(self, origin):
        """The rules of ``origin``'s robots.txt, or the ``PageError`` to give for its pages."""
        parser = urllib.robotparser.RobotFileParser()
        try:
            response = self.get(origin + "/robots.txt")
        except PageError as error:
            return error  # the server itself (not reached, silent): said as such
        try:
            with response:
                status = response.status_code
                if status == 200:
                    parser.parse(self.read(response).decode("utf-8", "replace").splitlines())
        except PageError as error:
            return PageError(f"its site's robots.txt could not be read: {error.args[0]}")
        if status >= 500:
            return PageError(f"its site's robots.txt could not be read (HTTP {status})")
        if status != 200:
            parser.allow_all = True
        return parser
