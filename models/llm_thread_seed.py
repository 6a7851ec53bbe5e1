"""The Python API of the original ``llm_thread`` module, as its README documents it (the
customer's first document), on top of this module's engine. See docs/seed_api.md for what
works and the one thing kept different (the GET route).

- ``create({'model': ..., 'res_id': ...})``: ``model`` is the seed's name of ``res_model``;
- ``tool_ids``: the thread's tools as records (``tool_names`` underneath), checked as the
  chat's Tools menu checks them;
- ``get_context()``: ``related_record`` (a :class:`RelatedRecordProxy`), ``related_model``,
  ``related_res_id``;
- ``message_post(llm_role=...)``: assistant markdown becomes sanitized HTML, and tool calls and
  results posted in the seed's shapes are stored in this module's, so they reach the model;
- ``_generation_lock()``: the thread's claim for the duration of a block;
- ``generate()``: the seed's dict events around the engine's run.
"""

import json
import re
from contextlib import contextmanager
from xml.etree import ElementTree
from urllib.parse import urlsplit

import markdown
import markdown.extensions
import markdown.inlinepatterns
import markdown.treeprocessors
import markdown.util
from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, MissingError


# The engine's events as the seed's event types.
SEED_TYPES = {"message_created": "message_create", "text_delta": "message_chunk",
              "reasoning_delta": "message_chunk", "message_final": "message_update",
              "tool_call_finished": "message_update", "error": "error", "done": "done"}


class RelatedRecordProxy:
    """The linked record as the seed's templates read it: ``get_field('partner_id')`` gives
    the customer's name, a list of names for a to-many field, the value otherwise; the
    ``default`` when the field is unknown, empty, or not readable by the current user."""

    def __init__(self, record):
        self._record = record

    def get_field(self, field_name, default=""):
        record = self._record
        if not record or field_name not in record._fields:
            return default
        try:
            value = record[field_name]
            if isinstance(value, models.BaseModel):
                names = value.mapped("display_name")
                value = (names[0] if names else default) \
                    if record._fields[field_name].type == "many2one" else names
        except (AccessError, MissingError):
            return default
        return default if value is None else value

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get_field(name)

    def __bool__(self):
        return bool(self._record)

    def __str__(self):
        record = self._record
        return json.dumps({"model": record._name if record else None,
                           "id": record.id if record else None,
                           "display_name": record.display_name if record else None})

    __repr__ = __str__


class LlmThreadSeed(models.Model):
    _inherit = "llm.thread"

    tool_ids = fields.Many2many(
        "llm.tool", string="Tool Records", compute="_compute_tool_ids",
        inverse="_inverse_tool_ids",
        help="The enabled tools as records (the original module's API); stored as Tools.")

    @api.depends("tool_names")
    def _compute_tool_ids(self):
        for thread in self:
            names = thread.tool_names or []
            tools = self.env["llm.tool"].search([("name", "in", names)])
            thread.tool_ids = tools.sorted(lambda tool: names.index(tool.name))

    def _inverse_tool_ids(self):
        for thread in self:
            # Names read in sudo: a tool the record rules hide gets the check's message.
            names = thread.tool_ids.sudo().mapped("name")
            self.env["llm.tool"]._llm_check_names(names)
            thread.tool_names = names

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if "model" in vals:
                vals.setdefault("res_model", vals.pop("model"))
        return super().create(vals_list)

    @api.private  # returns a record proxy, which RPC cannot send
    def get_context(self, base_context=None):
        """The seed's template context: ``thread_id``, and with a linked record
        ``related_record`` (a :class:`RelatedRecordProxy`), ``related_model`` and
        ``related_res_id``."""
        self.ensure_one()
        context = {**(base_context or {}), "thread_id": self.id}
        record = self._llm_record()
        if record:
            context.update(related_record=RelatedRecordProxy(record),
                           related_model=record._name, related_res_id=record.id)
        return context

    # ------------------------------------------------------------------
    # Messages in the seed's shapes
    # ------------------------------------------------------------------

    @api.returns("mail.message", lambda value: value.id)
    def message_post(self, *, llm_role=None, body_json=None, **kwargs):
        if llm_role:
            kwargs["llm_role"] = llm_role
            kwargs["body_json"] = _stored_data(llm_role, body_json or {}, kwargs)
            if llm_role in ("assistant", "tool") and not kwargs.get("author_id"):
                # As the engine's own answers: by OdooBot, not by whoever runs the code.
                kwargs["author_id"] = self.env.ref("base.partner_root").id
        elif body_json is not None:
            kwargs["body_json"] = body_json
        return super().message_post(**kwargs)

    # ------------------------------------------------------------------
    # Generation
    # ------------------------------------------------------------------

    @contextmanager
    def _generation_lock(self):
        """Hold the thread's claim for the block, as a generation does: ``LlmBusyError`` when
        one runs; released at the end, in the same transaction."""
        self.ensure_one()
        self._llm_check_owner()
        token = self._llm_claim()
        try:
            yield self
        finally:
            self.filtered(lambda thread: thread.generation_token == token).sudo().write({
                "generation_state": "idle", "generation_token": False, "generation_owner": 0,
                "generation_stop_requested": False})

    @api.private
    def generate(self, user_message_body=None, **kwargs):
        """Start an answer (as the chat's send: the user's message is committed first) and
        return a :class:`SeedRun` at once: the answer is written on the server whether or not
        anyone reads it. Iterating the handle gives the seed's dict events from the start:
        ``{'type': 'message_create' | 'message_chunk' | 'message_update', 'message': {id,
        llm_role, body}}``, ``{'type': 'error', 'error': message}`` and ``{'type': 'done'}``
        (``body``: the text so far, markdown as the model writes it); ``wait()`` waits for the
        end and returns the thread's state."""
        self.ensure_one()
        return SeedRun(self._llm_generate(user_message_body), user_message_body)


class SeedRun:
    """A run seen through the original module's event shapes."""

    def __init__(self, run, user_message_body):
        self.run = run
        self.user_message_body = user_message_body

    def wait(self, timeout=None):
        """The thread's generation state once the answer ended (None after ``timeout``)."""
        return self.run.wait(timeout)

    def __iter__(self):
        messages = {}
        for name, payload in self.run:
            kind = SEED_TYPES.get(name)
            if not kind:
                continue
            if kind in ("error", "done"):
                yield {"type": kind, "error": payload["message"]} if kind == "error" \
                    else {"type": "done"}
                continue
            message = messages.setdefault(payload["message_id"], {
                "id": payload["message_id"], "llm_role": payload.get("role", "assistant"),
                "body": ""})
            if name == "message_created" and payload["role"] == "user":
                message["body"] = self.user_message_body or ""
            elif name == "text_delta":
                message["body"] += payload["text"]
            elif name == "tool_call_finished":
                message.update(llm_role="tool",
                               body=payload["result"] if payload["error"] is None
                               else payload["error"])
            if name != "reasoning_delta":
                yield {"type": kind, "message": dict(message)}


# A list item: its indentation, its marker (a bullet, or a number and a period), the spaces
# before its text.
_LIST_ITEM = re.compile(r"( *)([-*+]|(\d{1,9})\.)( +)\S")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")


def _commonmark_lists(text):
    """``text`` with its lists written as Python-Markdown reads them the way the chat's
    markdown-it (CommonMark) does: a list may follow a line of text (Python-Markdown wants a
    blank line before it; an ordered list must start at 1 there, as in CommonMark), and an item
    indented as far as its parent item's text is nested in it (CommonMark: 2 spaces under
    ``- ``, 3 under ``1. ``; Python-Markdown: 4 per level). Lines in code fences are kept."""
    lines, columns = [], []  # columns: where the text of each open (nesting) item starts
    fence, blank = None, True  # the open code fence; whether the previous line was blank
    for line in text.split("\n"):
        opening = _FENCE.match(line)
        if fence or opening:
            if not fence:
                fence, columns = opening.group(1), []
            elif opening and opening.group(1).startswith(fence) and not line.strip(" `~"):
                fence = None  # the closing fence
            lines.append(line)
            blank = False
            continue
        indent = len(line) - len(line.lstrip(" "))
        item = _LIST_ITEM.match(line)
        if item and not columns and (
                indent > 3 or not blank and item.group(3) and int(item.group(3)) != 1):
            item = None  # indented code, or a number that cannot start a list after text
        if item:
            if not columns and not blank:
                lines.append("")
            while columns and indent < columns[-1]:
                columns.pop()
            lines.append(" " * 4 * len(columns) + line[indent:])
            spaces = len(item.group(4))
            columns.append(indent + len(item.group(2)) + (spaces if spaces <= 4 else 1))
        elif line.strip() and columns:
            # The text of the deepest item it is indented under, else after a blank line the
            # end of the lists (without one, the last item's text goes on).
            level = sum(1 for column in columns if indent >= column)
            if level:
                line = " " * (4 * level + indent - columns[level - 1]) + line[indent:]
            elif blank:
                columns = []
            lines.append(line)
        else:
            lines.append(line)
        blank = not line.strip()
    return "\n".join(lines)


class _ForeignImagesAsLinks(markdown.treeprocessors.Treeprocessor):
    """An image of another site becomes a link, as the chat shows it (markdown.ts): whoever
    reads the posted message (a visitor, a follower) would fetch it with whatever the model
    wrote into its URL, which a prompt injection could fill with the conversation."""

    def run(self, root):
        for image in root.iter("img"):
            src = image.get("src") or ""
            url = urlsplit(src)
            if src.startswith("data:image/") or not (url.scheme or url.netloc):
                continue  # this Odoo's own (a relative URL), or inline data
            alt = image.get("alt") or src
            image.attrib.clear()
            image.tag = "a"
            image.attrib.update(href=src, target="_blank", rel="noopener noreferrer")
            image.text = f"🖼️ {alt}"


class _TaskBoxes(markdown.treeprocessors.Treeprocessor):
    """A task list's ``[ ]`` and ``[x]`` as the boxes the chat shows (its taskLists plugin)."""

    def run(self, root):
        for item in root.iter("li"):
            holder = item[0] if len(item) and item[0].tag == "p" and not (item.text or "").strip() \
                else item
            text = holder.text or ""
            box = {"[ ] ": "☐ ", "[x] ": "☑ ", "[X] ": "☑ "}.get(text[:4])
            if box:
                holder.text = box + text[4:]


class _QuotesAsBlocks(markdown.treeprocessors.Treeprocessor):
    """A quote as a block drawn as one (the chat's Log as note does the same, message_actions.ts):
    mail folds every ``<blockquote>`` under "Read More", as the quoted email of a reply
    (``tag_quote``, odoo/tools/mail.py), which would hide it."""

    def run(self, root):
        for quote in root.iter("blockquote"):
            quote.tag = "div"
            quote.set("style", "border-left-style: solid; border-left-width: 3px; "
                               "border-left-color: #ced4da; padding-left: 12px; color: #6c757d")


class _TexAsCode(markdown.inlinepatterns.InlineProcessor):
    """A formula as its TeX, as code, delimited as the chat reads them (plugins.ts): the
    chat typesets it as MathML, which mail's sanitizer strips to bare letters. A ``$`` opens
    a formula before a non-space, and closes it after a non-space and before a non-digit,
    so that prices stay text ("$5 and $10")."""

    PATTERN = (r"(?s)\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)"
               r"|\$(?!\s)([^$`]*?[^\s\\$`])\$(?!\d)")

    def handleMatch(self, m, data):
        tex = next(group for group in m.groups() if group is not None)
        if not tex.strip():
            return None, None, None
        code = ElementTree.Element("code")
        code.text = markdown.util.AtomicString(tex.strip())
        return code, m.start(0), m.end(0)


class _AnswerExtension(markdown.extensions.Extension):
    def extendMarkdown(self, md):
        # The model's own HTML is text, as the chat shows it (markdown.ts: ``html: false``):
        # passed through, a raw <img> of another site would escape the link rewrite below
        # and be fetched by whoever reads the posted answer.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # Before "escape" (180), which would read "\(" as an escaped parenthesis; after the
        # code spans (190), whose "$" stay text.
        md.inlinePatterns.register(_TexAsCode(_TexAsCode.PATTERN, md), "llm_tex", 185)
        # After the inline patterns (priority 20), which make the images and the text.
        md.treeprocessors.register(_ForeignImagesAsLinks(md), "llm_foreign_images", 5)
        md.treeprocessors.register(_TaskBoxes(md), "llm_task_boxes", 4)
        md.treeprocessors.register(_QuotesAsBlocks(md), "llm_quotes", 3)


def markdown_html(text):
    """An answer's markdown as HTML, for a body whose field sanitizer then makes it safe."""
    return Markup(markdown.markdown(
        _commonmark_lists(text),
        extensions=["fenced_code", "tables", "sane_lists", "footnotes", _AnswerExtension()]))


def _stored_data(role, data, kwargs):
    """``body_json`` as this module stores it (mail_message.py), from the seed's shapes;
    fills ``kwargs['body']`` where the seed puts the text elsewhere."""
    data = dict(data)
    body = kwargs.get("body")
    if role == "assistant":
        if data.get("tool_calls"):
            data["tool_calls"] = [_tool_call(call) for call in data["tool_calls"]]
        if isinstance(body, str) and body and not isinstance(body, Markup):
            # Markdown to HTML, then the body field's own sanitizer makes it safe; the
            # markdown is kept for the model and the chat, which render it themselves.
            data["markdown"] = body
            kwargs["body"] = markdown_html(body)
    elif role == "tool" and ("function" in data or "result" in data):
        function = data.pop("function", None)
        if isinstance(function, dict):
            data.setdefault("arguments", function.get("arguments"))
            function = function.get("name")
        data["name"] = data.get("name") or function
        data["arguments"] = _arguments(data.get("arguments"))
        result = data.pop("result", None)
        if not body:
            kwargs["body"] = escape(result if isinstance(result, str)
                                    else json.dumps(result, default=str, ensure_ascii=False))
    return data


def _tool_call(call):
    """One call of an assistant message, from the seed's (OpenAI's) shape or already ours."""
    function = call.get("function")
    if isinstance(function, dict):
        return {"id": call.get("id"), "name": function.get("name"),
                "arguments": _arguments(function.get("arguments"))}
    return {"id": call.get("id"), "name": call.get("name"),
            "arguments": _arguments(call.get("arguments"))}


def _arguments(value):
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
