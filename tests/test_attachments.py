"""Files and images sent with a message: upload, checks, and what each wire format receives
(the real route, engine and wire modules, against the fake provider server, which refuses
content parts not shaped as each API documents them)."""

import base64
import inspect
import io

import requests
from PIL import Image
from reportlab.pdfgen import canvas

from odoo import Command, http
from odoo.addons.base.models.ir_autovacuum import is_autovacuum
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..engine.tokens import IMAGE_TOKENS, estimate_tokens, message_tokens
from ..models.llm_thread import MAX_MESSAGE_CHARS
from ..models.llm_thread_attachments import MAX_ATTACHMENTS, MAX_IMAGE_BYTES
from ..providers import base
from .engine_common import WAIT, WireCase
from .fake_provider import content_error
from .test_access import RpcMixin

NOTES = "# Notes\n\nThe café opens at nine."


def png(color="red"):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buffer, "PNG")
    return buffer.getvalue()


def pdf(text):
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    document.drawString(72, 720, text)
    document.showPage()
    document.save()
    return buffer.getvalue()


@tagged("post_install", "-at_install")
class TestAttachments(RpcMixin, WireCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model.supports_vision = True

    def new_thread(self, user=None, **values):
        return self.env["llm.thread"].with_user(user or self.user_a).create({
            "name": "Chat", "provider_id": self.provider_record.id, "model_id": self.model.id,
            **values})

    def upload(self, name, raw, login="llm_a", thread=None):
        self.env.flush_all()
        self.authenticate(login, f"{login}_password_1")
        return self.opener.post(
            f"{self.base_url()}/llm/thread/{(thread or self.thread).id}/attachment",
            data={"csrf_token": http.Request.csrf_token(self)}, files={"ufile": (name, raw)},
            timeout=WAIT)

    def attach(self, name, raw, **kwargs):
        response = self.upload(name, raw, **kwargs)
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["id"]

    def refused(self, response, code, text):
        self.assertEqual(response.status_code, 400 if code != "not_found" else 404)
        error = response.json()["error"]
        self.assertEqual(error["code"], code)
        self.assertIn(text, error["message"])

    def b64(self, attachment_id):
        return base64.b64encode(self.env["ir.attachment"].browse(attachment_id).raw).decode()

    # What each format receives --------------------------------------------------------------

    def test_image_pdf_and_text_in_each_wire_format(self):
        for fmt in ("openai", "anthropic", "ollama"):
            with self.subTest(fmt=fmt):
                self.use_format(fmt)
                thread = self.new_thread()
                image = self.attach("photo.png", png(), thread=thread)
                report = self.attach("report.pdf", pdf("Revenue grew by 12 percent."),
                                     thread=thread)
                notes = self.attach("notes.md", NOTES.encode(), thread=thread)
                self.fake.script(fmt, [base.TextDelta("A red square."), base.Finish("stop")])
                self.fake.script(fmt, [base.TextDelta("Nine."), base.Finish("stop")])
                response, _events = self.generate(thread, "What is in these?",
                                                  attachment_ids=[image, report, notes])
                self.assertEqual(response.status_code, 200, response.text)
                question = self.messages(thread, "user")
                self.assertEqual(question.attachment_ids.sorted("id").ids, [image, report, notes])
                # The next turn sends the earlier question with its attachments again.
                self.generate(thread, "When does it open?")
                first, second = (request.json for request in self.fake.requests[-2:])
                for sent in (first, second):
                    self.check_body(fmt, sent, image, report)
                self.assertIn("When does it open?",
                              str(self.fake.requests[-1].json["messages"][-1]["content"]))

    def check_body(self, fmt, sent, image, report):
        text_file = f"[File: notes.md]\n{NOTES}"
        if fmt == "openai":
            question = next(m for m in sent["messages"] if isinstance(m["content"], list))
            self.assertEqual(question["role"], "user")
            parts = question["content"]
            self.assertEqual(parts[0], {"type": "text", "text": "What is in these?"})
            self.assertEqual(parts[1], {"type": "image_url", "image_url": {
                "url": f"data:image/png;base64,{self.b64(image)}"}})
            self.assertEqual(parts[2]["type"], "text")
            self.assertTrue(parts[2]["text"].startswith("[File: report.pdf]\n"))
            self.assertIn("Revenue grew by 12 percent.", parts[2]["text"])
            self.assertEqual(parts[3], {"type": "text", "text": text_file})
        elif fmt == "anthropic":
            question = next(m for m in sent["messages"] if m["role"] == "user"
                            and isinstance(m["content"], list) and len(m["content"]) == 4)
            blocks = question["content"]
            self.assertEqual(blocks[0], {"type": "image", "source": {
                "type": "base64", "media_type": "image/png", "data": self.b64(image)}})
            self.assertEqual(blocks[1], {"type": "document", "title": "report.pdf", "source": {
                "type": "base64", "media_type": "application/pdf", "data": self.b64(report)}})
            self.assertEqual(blocks[2], {"type": "document", "title": "notes.md", "source": {
                "type": "text", "media_type": "text/plain", "data": NOTES}})
            self.assertEqual(blocks[3], {"type": "text", "text": "What is in these?"})
        else:
            question = next(m for m in sent["messages"] if m.get("images"))
            self.assertEqual(question["images"], [self.b64(image)])
            self.assertTrue(question["content"].startswith(
                "What is in these?\n\n[File: report.pdf]\n"))
            self.assertIn("Revenue grew by 12 percent.", question["content"])
            self.assertTrue(question["content"].endswith(text_file))

    def test_a_question_of_files_alone_in_each_wire_format(self):
        """Files sent with no text (blank text is none): each format gets them without an
        empty text part, which the APIs refuse; the chat shows the question's files."""
        for fmt in ("openai", "anthropic", "ollama"):
            with self.subTest(fmt=fmt):
                self.use_format(fmt)
                thread = self.new_thread(name="New conversation")
                image = self.attach("photo.png", png(), thread=thread)
                notes = self.attach("notes.md", NOTES.encode(), thread=thread)
                self.fake.script(fmt, [base.TextDelta("A red square."), base.Finish("stop")])
                # Blank text matters most to Anthropic, which refuses a whitespace block.
                text = " \n " if fmt == "anthropic" else ""
                response, events = self.generate(thread, text, attachment_ids=[image, notes])
                self.assertEqual(response.status_code, 200, response.text)
                self.assertEqual(self.text(events), "A red square.")
                question = self.messages(thread, "user")
                self.assertEqual(question.attachment_ids.sorted("id").ids, [image, notes])
                self.assertEqual(thread.name, "photo.png, notes.md", "named after its files")
                sent = self.fake.requests[-1].json["messages"][-1]
                self.assertEqual(sent["role"], "user")
                if fmt == "openai":
                    self.assertEqual([part["type"] for part in sent["content"]],
                                     ["image_url", "text"])
                    self.assertEqual(sent["content"][1]["text"], f"[File: notes.md]\n{NOTES}")
                elif fmt == "anthropic":
                    self.assertEqual([block["type"] for block in sent["content"]],
                                     ["image", "document"])
                else:
                    self.assertEqual(sent["content"], f"[File: notes.md]\n{NOTES}")
                    self.assertEqual(sent["images"], [self.b64(image)])
                loaded = thread.with_user(self.user_a).llm_ui_load()["messages"][0]
                self.assertEqual((loaded["text"], [a["id"] for a in loaded["attachments"]]),
                                 ("", [image, notes]))

    def test_a_question_needs_text_or_files(self):
        for message in ("", "  \n "):
            response, _events = self.generate(self.thread, message)
            self.refused(response, "empty_message", "Write a message, or attach a file, to send.")
        self.assertFalse(self.messages(self.thread), "nothing stored")
        self.assertEqual(self.fake.requests, [])

    def test_fake_server_refuses_misshaped_parts(self):
        """The checks the tests above rely on can fail: each format's wrong shape is refused."""
        data = base64.b64encode(png()).decode()
        self.assertIsNone(content_error("openai", [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}}]}]))
        self.assertIn("invalid image data URL", content_error("openai", [{
            "role": "user", "content": [{"type": "image_url", "image_url": {"url": data}}]}]))
        self.assertIn("unknown content block type", content_error("anthropic", [{
            "role": "user", "content": [{"type": "image_url", "image_url": {"url": data}}]}]))
        self.assertIn("invalid base64", content_error("anthropic", [{
            "role": "user", "content": [{"type": "image", "source": {
                "type": "base64", "media_type": "image/png",
                "data": f"data:image/png;base64,{data}"}}]}]))
        self.assertIn("images", content_error("ollama", [{
            "role": "user", "content": "", "images": [f"data:image/png;base64,{data}"]}]))
        # Empty text: Anthropic refuses it in a block and as a turn, OpenAI an empty array.
        image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                             "data": data}}
        self.assertIsNone(content_error("anthropic", [{"role": "user", "content": [image]}]))
        self.assertIn("must be non-empty", content_error("anthropic", [{
            "role": "user", "content": [image, {"type": "text", "text": ""}]}]))
        self.assertIn("non-whitespace text", content_error("anthropic", [{
            "role": "user", "content": [image, {"type": "text", "text": " \n"}]}]))
        self.assertIn("must have non-empty content", content_error("anthropic", [
            {"role": "user", "content": ""}, {"role": "assistant", "content": "Hi"}]))
        self.assertIsNone(content_error("anthropic", [
            {"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]))
        self.assertIn("empty array", content_error("openai", [{"role": "user", "content": []}]))
        # Through the server: the API's 400 with its error body.
        response = requests.post(f"{self.fake.base_url('openai')}/chat/completions", json={
            "model": "fake-model", "messages": [{"role": "assistant", "content": [
                {"type": "image_url", "image_url": {"url": data}}]}]},
            headers={"Authorization": "Bearer sk-test"}, timeout=WAIT)
        self.assertEqual(response.status_code, 400)
        self.assertIn("only allowed in user messages", response.json()["error"]["message"])

    def test_image_tokens_are_budgeted(self):
        message = base.ChatMessage("user", "Look", attachments=(
            base.Attachment("a.png", "image/png", data="AAAA"),
            base.Attachment("b.txt", "text/plain", text="x" * 400)))
        self.assertEqual(message_tokens(message), estimate_tokens("Look") + IMAGE_TOKENS
                         + estimate_tokens("[File: b.txt]\n" + "x" * 400))

    # Vision -------------------------------------------------------------------------------

    def test_vision_set_for_known_models_when_fetched(self):
        for fmt, ids, seeing in (
                ("openai", ["gpt-4o-mini", "gpt-3.5-turbo", "o3-mini"], {"gpt-4o-mini"}),
                ("ollama", ["llava:7b", "llama3.2:3b", "gemma3:4b"], {"llava:7b", "gemma3:4b"})):
            with self.subTest(fmt=fmt):
                self.use_format(fmt)
                self.fake.models(fmt, ids)
                self.provider_record._fetch_models()
                models = self.provider_record.model_ids.filtered(lambda m: m.api_id in ids)
                self.assertEqual(set(models.filtered("supports_vision").mapped("api_id")), seeing)

    def test_model_without_vision_is_refused_before_any_call(self):
        self.model.supports_vision = False
        image = self.attach("photo.png", png())
        response, _events = self.generate(self.thread, "What is this?", attachment_ids=[image])
        self.refused(response, "invalid_attachment", "Scripted cannot read images: pick a "
                                                     "model with vision")
        self.assertEqual(self.fake.requests, [], "no provider call")
        self.assertFalse(self.messages(self.thread), "nothing stored: the composer keeps it")
        # A model with vision then takes the same upload.
        self.model.supports_vision = True
        self.fake.script("openai", [base.TextDelta("A red square."), base.Finish("stop")])
        response, _events = self.generate(self.thread, "What is this?", attachment_ids=[image])
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.messages(self.thread, "user").attachment_ids.ids, [image])

    def test_history_images_need_vision_too(self):
        image = self.attach("photo.png", png())
        self.fake.script("openai", [base.TextDelta("A red square."), base.Finish("stop")])
        self.generate(self.thread, "What is this?", attachment_ids=[image])
        self.model.supports_vision = False
        response, _events = self.generate(self.thread, "And its color?")
        self.refused(response, "invalid_attachment", "Scripted cannot read images, and this "
                                                     "conversation has some: pick a model")
        self.assertEqual(len(self.fake.requests), 1)

    def test_auto_model_picks_one_with_vision(self):
        self.model.write({"supports_vision": False, "supports_tools": True, "input_price": 0.1})
        vision = self.env["llm.model"].create({
            "name": "Seeing", "api_id": "fake-vision", "provider_id": self.provider_record.id,
            "supports_vision": True, "supports_tools": True, "input_price": 5.0})
        self.thread.with_user(self.user_a).llm_update({"auto_model": True})
        image = self.attach("photo.png", png())
        self.fake.script("openai", [base.TextDelta("Red."), base.Finish("stop")],
                         model="fake-vision")
        response, _events = self.generate(self.thread, "What is this?", attachment_ids=[image])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.fake.requests[-1].json["model"], vision.api_id)
        self.fake.script("openai", [base.TextDelta("Hello."), base.Finish("stop")])
        self.generate(self.new_thread(auto_model=True), "Hi")
        self.assertEqual(self.fake.requests[-1].json["model"], "fake-model",
                         "without images, the cheapest model")

    # Limits ---------------------------------------------------------------------------------

    def test_type_and_size_limits(self):
        self.refused(self.upload("tool.exe", b"MZ\x90\x00"), "invalid_attachment",
                     "tool.exe cannot be sent to the model: attach an image (PNG, JPEG")
        self.refused(self.upload("photo.png", b"not an image"), "invalid_attachment",
                     "photo.png is not a valid image")
        self.refused(self.upload("big.png", png() + b"\0" * MAX_IMAGE_BYTES),
                     "invalid_attachment", "big.png is too large (5.0 MB; the limit for an "
                                           "image is 5 MB)")
        # Each told in the words of its type: a scan is no empty text file.
        self.refused(self.upload("scan.pdf", b"%PDF-1.4 garbage"), "invalid_attachment",
                     "No text could be read from scan.pdf, a scan or a PDF of images")
        self.refused(self.upload("empty.txt", b""), "invalid_attachment",
                     "empty.txt is empty: there is nothing in it to send.")
        self.assertFalse(self.env["ir.attachment"].search(
            [("res_model", "=", "llm.thread"), ("res_id", "=", self.thread.id)]),
            "nothing refused is kept")
        ids = [self.attach(f"n{index}.txt", b"words") for index in range(MAX_ATTACHMENTS + 1)]
        response, _events = self.generate(self.thread, "Read them", attachment_ids=ids)
        self.refused(response, "invalid_attachment", "at most 10 attachments (11 given)")
        response, _events = self.generate(self.thread, "Hi", attachment_ids=["x"])
        self.assertEqual(response.status_code, 400)
        self.assertEqual(self.fake.requests, [])

    # Access ---------------------------------------------------------------------------------

    def test_only_the_owners_unsent_uploads_go(self):
        thread_b = self.new_thread(self.user_b)
        theirs = self.attach("b.txt", b"B's secret", login="llm_b", thread=thread_b)
        self.refused(self.upload("x.txt", b"into A's", login="llm_b"), "not_found",
                     "does not exist or is not yours")
        response, _events = self.generate(self.thread, "Read it", attachment_ids=[theirs])
        self.refused(response, "invalid_attachment", "cannot be sent with this message")
        mine = self.attach("a.txt", b"A's note")
        self.fake.script("openai", [base.TextDelta("Noted."), base.Finish("stop")])
        self.assertEqual(self.generate(self.thread, "Read it", attachment_ids=[mine])[0]
                         .status_code, 200)
        response, _events = self.generate(self.thread, "Again", attachment_ids=[mine])
        self.refused(response, "invalid_attachment", "already sent")
        self.assertEqual(len(self.fake.requests), 1)
        self.assertNotIn("B's secret", str(self.fake.requests[0].json))

    @mute_logger("odoo.http")
    def test_only_the_chats_uploads_go(self):
        """The upload checks a file's type, size and text; a file the user created over
        JSON-RPC on their own conversation skipped them all (a text of 3,000,000 characters
        reached the provider). Only the upload marks a file as one, and only those are sent."""
        text = "A" * (MAX_MESSAGE_CHARS + 1)
        self.refused(self.upload("big.txt", text.encode()), "invalid_attachment",
                     "The text of big.txt is too long")
        values = {"name": "big.txt", "datas": base64.b64encode(text.encode()).decode(),
                  "mimetype": "text/plain", "res_model": "llm.thread", "res_id": self.thread.id}
        refusal = "Only the chat's upload marks a file as an upload to send"
        _result, error = self.call_kw("ir.attachment", "create",
                                      [{**values, "llm_chat_upload": True}])
        self.assertRefused(error, "AccessError", refusal)
        unmarked, error = self.call_kw("ir.attachment", "create", [values])
        self.assertIsNone(error, "a file of the conversation's form")
        _result, error = self.call_kw("ir.attachment", "write",
                                      [[unmarked], {"llm_chat_upload": True}])
        self.assertRefused(error, "AccessError", refusal)
        response, _events = self.generate(self.thread, "Summarise it", attachment_ids=[unmarked])
        self.refused(response, "invalid_attachment", "cannot be sent with this message")
        self.assertEqual(self.fake.requests, [])

    def ask_with(self, text, *files):
        """Send ``text`` with the ``files`` (name, bytes) uploaded: (question, file ids)."""
        ids = [self.attach(name, raw) for name, raw in files]
        self.fake.script("openai", [base.TextDelta("Seen."), base.Finish("stop")])
        response, _events = self.generate(self.thread, text, attachment_ids=ids)
        self.assertEqual(response.status_code, 200, response.text)
        return self.messages(self.thread, "user")[-1], ids

    def edit(self, question, text, attachment_ids=()):
        self.fake.script("openai", [base.TextDelta("Edited."), base.Finish("stop")])
        return self.generate(self.thread, text, edit_message_id=question.id,
                             attachment_ids=attachment_ids)[0]

    def test_an_edit_keeps_removes_and_adds_files(self):
        """An edit carries exactly the files its box holds: kept ones of the question it
        replaces, new uploads, or none; the model then reads those."""
        question, [image, notes] = self.ask_with(
            "What is this?", ("photo.png", png()), ("notes.md", NOTES.encode()))
        report = self.attach("report.pdf", pdf("Revenue grew by 12 percent."))
        response = self.edit(question, "And these?", [notes, report])
        self.assertEqual(response.status_code, 200, response.text)
        edited = self.messages(self.thread, "user")[-1]
        self.assertEqual(edited.attachment_ids.sorted("id").ids, [notes, report])
        self.assertEqual(question.attachment_ids.sorted("id").ids, [image, notes],
                         "the earlier version keeps its own")
        parts = self.fake.requests[-1].json["messages"][-1]["content"]
        self.assertEqual([part["type"] for part in parts], ["text", "text", "text"])
        self.assertEqual(parts[0]["text"], "And these?")
        self.assertIn("Revenue grew by 12 percent.", parts[2]["text"])
        # All removed: the text alone (the history has no file left either).
        response = self.edit(edited, "Just a question")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertFalse(self.messages(self.thread, "user")[-1].attachment_ids)
        self.assertEqual(self.fake.requests[-1].json["messages"][-1]["content"], "Just a question")
        self.assertEqual(len([m for m in self.fake.requests[-1].json["messages"]
                              if m["role"] == "user"]), 1)
        # The text removed and a file added: a question of files alone.
        later = self.attach("later.txt", b"Written later")
        response = self.edit(self.messages(self.thread, "user")[-1], "", [later])
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.fake.requests[-1].json["messages"][-1]["content"], [
            {"type": "text", "text": "[File: later.txt]\nWritten later"}])

    def test_an_edit_takes_only_its_questions_files_and_the_owners_uploads(self):
        first, [kept] = self.ask_with("First", ("first.txt", b"First file"))
        second, [own] = self.ask_with("Second", ("second.txt", b"Second file"))
        thread_b = self.new_thread(self.user_b)
        theirs = self.attach("b.txt", b"B's secret", login="llm_b", thread=thread_b)
        for ids in ([kept], [own, theirs]):
            with self.subTest(ids=ids):
                self.refused(self.edit(second, "Edited", ids), "invalid_attachment",
                             "cannot be sent with this message")
        self.refused(self.edit(second, ""), "invalid_action",
                     "An edited question needs text or a file")
        self.assertEqual(self.messages(self.thread, "user"), first | second, "nothing stored")
        self.assertEqual(len(self.fake.requests), 2)
        self.assertNotIn("B's secret", str(self.fake.requests[-1].json))
        self.assertEqual(self.edit(second, "Edited", [own]).status_code, 200)

    def test_an_edit_refused_for_its_images_goes_without_them(self):
        question, [image] = self.ask_with("What is this?", ("photo.png", png()))
        self.model.supports_vision = False
        response = self.edit(question, "What shape is this?", [image])
        self.refused(response, "invalid_attachment", "Scripted cannot read images: pick a model "
                     "with vision (or Auto), or send the message without its images.")
        self.assertEqual(self.messages(self.thread, "user"), question, "nothing stored")
        # Without the image, the model without vision answers: nothing before it has one.
        response = self.edit(question, "What shape is a square?")
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(self.fake.requests[-1].json["messages"][-1]["content"],
                         "What shape is a square?")

    def test_chat_shows_the_attachments_of_each_message(self):
        image = self.attach("photo.png", png())
        self.fake.script("openai", [base.TextDelta("Red."), base.Finish("stop")])
        self.generate(self.thread, "What is this?", attachment_ids=[image])
        data = self.thread.with_user(self.user_a).llm_ui_load()
        self.assertEqual([m["attachments"] for m in data["messages"]], [
            [{"id": image, "name": "photo.png", "mimetype": "image/png"}], []])


    # Unsent uploads ---------------------------------------------------------------------------

    def test_unsent_uploads_are_removed_a_day_later(self):
        """An upload no message took (removed from the composer, or the tab closed) is
        removed by the autovacuum a day later, as mail's composer's are; one that a message
        or another record uses, a recent one and the conversation's other files stay."""
        sent = self.attach("sent.txt", b"Sent with the question")
        self.fake.script("openai", [base.TextDelta("Noted."), base.Finish("stop")])
        self.assertEqual(self.generate(self.thread, "Read it", attachment_ids=[sent])[0]
                         .status_code, 200)
        removed = self.attach("removed.txt", b"Removed from the composer")
        used = self.attach("used.txt", b"Attached to an activity since")
        recent = self.attach("recent.txt", b"Still being written about")
        Attachment = self.env["ir.attachment"]
        # Not the chat's: a file attached in the conversation's form's chatter.
        other = Attachment.with_user(self.user_a).create({
            "name": "chatter.txt", "raw": b"kept", "res_model": "llm.thread",
            "res_id": self.thread.id}).id
        partner = self.env["res.partner"].create({"name": "Azure Interior"})
        self.env["mail.activity"].create({
            "res_model_id": self.env["ir.model"]._get_id("res.partner"), "res_id": partner.id,
            "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
            "attachment_ids": [Command.link(used)]})
        self.env.flush_all()
        self.env.cr.execute("""UPDATE ir_attachment SET create_date = now() - interval '25 hours',
                                                        write_date = now() - interval '25 hours'
                                WHERE id IN %s""", ((sent, removed, used, other),))
        self.env.invalidate_all()
        self.assertIn("_gc_llm_unsent_uploads", dict(inspect.getmembers(
            type(self.env["llm.thread"]), is_autovacuum)))
        self.env["llm.thread"]._gc_llm_unsent_uploads()
        self.assertEqual(set(Attachment.browse([sent, removed, used, recent, other]).exists().ids),
                         {sent, used, recent, other})
        # Sent later all the same (a tab left open): refused in words.
        response, _events = self.generate(self.thread, "And this", attachment_ids=[removed])
        self.refused(response, "invalid_attachment", "cannot be sent with this message")
        self.assertEqual([m["attachments"] for m in self.thread.with_user(self.user_a)
                          .llm_ui_load()["messages"]][0][0]["id"], sent)

    # The chat -----------------------------------------------------------------------------

    def test_paste_an_image_and_send_it(self):
        self.fake.script("openai", [base.TextDelta("A red square."), base.Finish("stop")])
        # The tour of static/tests/tours/llm_attachments_tours.js.
        self.start_tour("/odoo/llm-chat", "llm_thread_paste_image", login="admin")
        admin = self.env.ref("base.user_admin")
        question = self.env["llm.thread"].with_user(admin).search(
            [("user_id", "=", admin.id)]).message_ids.filtered(lambda m: m.llm_role == "user")
        self.assertEqual(question.attachment_ids.mapped("mimetype"), ["image/png"])
        parts = self.fake.requests[0].json["messages"][-1]["content"]
        self.assertEqual(parts[0], {"type": "text", "text": "What is in this picture?"})
        self.assertEqual(parts[1]["image_url"]["url"], "data:image/png;base64," + base64.b64encode(
            question.attachment_ids.raw).decode())

    def test_an_image_alone_then_the_edit_replacing_it(self):
        self.fake.script("openai", [base.TextDelta("A red square."), base.Finish("stop")])
        self.fake.script("openai", [base.TextDelta("A blue square."), base.Finish("stop")])
        # The tour of static/tests/tours/llm_attachments_tours.js.
        self.start_tour("/odoo/llm-chat", "llm_thread_image_alone_then_edited", login="admin")
        admin = self.env.ref("base.user_admin")
        thread = self.env["llm.thread"].with_user(admin).search([("user_id", "=", admin.id)])
        self.assertEqual(thread.name, "image.png")
        first, edited = thread.message_ids.filtered(lambda m: m.llm_role == "user").sorted("id")
        self.assertEqual(len(self.fake.requests), 2)
        sent = [request.json["messages"] for request in self.fake.requests]
        self.assertEqual(sent[0][-1]["content"], [{"type": "image_url", "image_url": {
            "url": "data:image/png;base64," + base64.b64encode(first.attachment_ids.raw).decode()}}])
        self.assertEqual(sent[1][-1]["content"], [
            {"type": "text", "text": "And this one?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(
                edited.attachment_ids.raw).decode()}}])
        self.assertNotEqual(first.attachment_ids, edited.attachment_ids)
        self.assertEqual(len([m for m in sent[1] if m["role"] == "user"]), 1,
                         "the replaced question is not sent")
