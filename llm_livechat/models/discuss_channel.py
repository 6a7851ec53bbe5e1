"""A live chat conversation (``discuss.channel`` of type livechat) answered by the AI agent.

- A visitor's message (``message_post``) starts a run of the conversation's ``llm.thread``,
  owned by the agent's user (not internal), after the length, rate and budget checks.
- The answer is mirrored into the conversation as the agent's message while it is written
  (``_llm_mirror``, from the run's ``_llm_answer_progress`` hook), over Odoo's bus.
- The agent answers while it is a member and no human operator is; it stops when one joins
  and resumes when they leave. ``_llm_handoff`` brings one in by im_livechat's rules, or,
  with nobody available, collects the visitor's email for the team (a lead with CRM).
"""

import logging
import re
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.addons.llm_thread.engine.turn import message_text
from odoo.addons.llm_thread.models.llm_budget import notify_once
from odoo.addons.llm_thread.models.llm_thread import LlmBusyError
from odoo.addons.llm_thread.models.llm_thread_seed import markdown_html
from odoo.addons.llm_thread.models.llm_tool_registry import llm_tool
from odoo.addons.mail.tools.discuss import Store
from odoo.exceptions import UserError
from odoo.tools import email_normalize, html2plaintext

_logger = logging.getLogger(__name__)

HANDOFF_REASONS = [
    ("visitor", "Visitor asked for a person"),
    ("agent", "The agent could not help"),
    ("no_source", "No relevant source"),
    ("turns", "Too many answers"),
    ("budget", "Budget spent"),
    ("error", "The AI failed"),
    ("operator", "Taken over by an operator"),
]
THUMBS_UP = "👍"
THUMBS_DOWN = "👎"
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
SUMMARY_QUESTIONS = 3
# Context key: the agent's message is posted from a run's save (_llm_mirror).
MIRRORING = "llm_livechat_mirroring"
# Fewer words and no question mark: chit-chat, not a question for the knowledge base.
QUESTION_WORDS = 4
# A broken provider fails every visitor's answer alike: its LLM managers hear of it once in this
# time for each kind of failure, not once per visitor.
FAILURE_NOTICE_INTERVAL = timedelta(hours=1)


class DiscussChannel(models.Model):
    _inherit = "discuss.channel"

    llm_thread_id = fields.Many2one(
        "llm.thread", string="AI Conversation", readonly=True, copy=False, index="btree_not_null",
        ondelete="set null")
    llm_agent_partner_id = fields.Many2one(
        "res.partner", string="AI Agent", readonly=True, copy=False, index="btree_not_null",
        help="The AI agent taking part in this conversation (it answers while no operator is in).")
    llm_ai_handling = fields.Boolean(
        "AI Answering", compute="_compute_llm_ai_handling", store=True,
        help="The AI agent answers the visitor now: it is in the conversation and no operator "
             "is.")
    llm_agent_stopped = fields.Boolean(
        "AI Stopped", readonly=True, copy=False,
        help="Handed over to the team with no operator available: the agent no longer answers.")
    llm_contact_pending = fields.Boolean(readonly=True, copy=False)
    # The visitor was asked for their email a second time: not asked again.
    llm_contact_reminded = fields.Boolean(readonly=True, copy=False)
    llm_handoff_reason = fields.Selection(HANDOFF_REASONS, "Hand-off Reason", readonly=True,
                                          copy=False)
    llm_handoff_date = fields.Datetime("Handed Over On", readonly=True, copy=False)
    llm_handoff_question = fields.Text("Question Handed Over", readonly=True, copy=False)
    llm_handoff_summary = fields.Text("Summary for the Operator", readonly=True, copy=False)
    llm_handoff_error = fields.Text(
        "Why the AI Failed", readonly=True, copy=False,
        help="The error that ended the agent's answer (hand-off reason \"The AI failed\"), as "
             "the agent was told it, with the provider's own words.")
    llm_contact_email = fields.Char("Visitor Email", readonly=True, copy=False)
    llm_first_visitor_date = fields.Datetime(readonly=True, copy=False)
    # Kept by the agent's runs on a row of their own (llm.livechat.state), not on this one.
    llm_first_answer_seconds = fields.Float("Time to First Answer (s)",
                                            compute="_compute_llm_agent_figures")
    llm_answer_count = fields.Integer("AI Answers", compute="_compute_llm_agent_figures")

    @api.depends("llm_agent_partner_id", "llm_agent_stopped", "channel_member_ids.partner_id")
    def _compute_llm_ai_handling(self):
        for channel in self:
            partners = channel.channel_member_ids.partner_id
            channel.llm_ai_handling = bool(
                channel.llm_agent_partner_id in partners and not channel.llm_agent_stopped
                and not partners.filtered(lambda p: p.user_ids and not p.partner_share))

    def _compute_llm_agent_figures(self):
        # sudo: the agent's state is its runs' own; these figures are the conversation's.
        states = self.env["llm.livechat.state"].sudo().search([("channel_id", "in", self.ids)])
        by_channel = {state.channel_id.id: state for state in states}
        for channel in self:
            state = by_channel.get(channel.id, states.browse())
            channel.llm_first_answer_seconds = state.first_answer_seconds
            channel.llm_answer_count = state.answer_count

    def _llm_state(self):
        """The agent's state of this conversation (llm_livechat_state.py), created at its
        first use by a run; sudo: it has no access rights of its own."""
        self.ensure_one()
        states = self.env["llm.livechat.state"].sudo()
        return states.search([("channel_id", "=", self.id)]) \
            or states.create({"channel_id": self.id})

    @api.model_create_multi
    def create(self, vals_list):
        channels = super().create(vals_list)
        # A conversation im_livechat opened with the agent as its operator (_get_operator).
        for channel in channels.filtered(lambda c: c.channel_type == "livechat"):
            agent = channel.livechat_channel_id.llm_agent_user_id
            if agent and channel.livechat_operator_id == agent.partner_id:
                channel.llm_agent_partner_id = agent.partner_id
        return channels

    def write(self, vals):
        if self.env.context.get(MIRRORING) and set(vals) == {"last_interest_dt"}:
            # The answer's first save, posting it from the run's transaction: mail's
            # message_post would update the conversation's row, as the visitor's post of a
            # next question does at the same moment (REPEATABLE READ: one of the two fails to
            # serialize, an ERROR in the log). The question set it a moment before.
            return True
        if {"llm_agent_partner_id", "llm_agent_stopped", "livechat_active"} & set(vals):
            self._llm_watch_handling()
        result = super().write(vals)
        if "livechat_operator_id" in vals:
            self._llm_send_operator()
        return result

    def _llm_send_operator(self):
        """The visitor's widget is named after the conversation's operator, which Odoo sends
        only with the whole conversation: when it changes (a hand-off, a take-over, the agent
        back), it is sent to the members, as im_livechat's ``_to_store`` sends it."""
        # sudo: the visitor reads the operator's public name and avatar (as im_livechat does)
        for channel in self.sudo().filtered(lambda c: c.channel_type == "livechat"):
            channel._bus_send_store(channel, {"operator": Store.one(
                channel.livechat_operator_id, fields=["avatar_128", "user_livechat_username"])})

    # ------------------------------------------------------------------
    # The visitor writes
    # ------------------------------------------------------------------

    def message_post(self, **kwargs):
        if self.sudo().llm_agent_partner_id and not self.env.context.get(MIRRORING):
            self._llm_lock()  # mail's post updates the row (last_interest_dt; see write)
        if kwargs.get("author_id", self.env.user.partner_id.id) == self.env.user.partner_id.id \
                and self._llm_taken_over_by_writing():
            # An operator answering in a conversation the AI answers (Discuss lists it to
            # them) takes it over: they join, the agent stops.
            self.sudo(False).action_llm_take_over()
        message = super().message_post(**kwargs)
        # sudo: the visitor (a guest) reads neither the agent's settings nor its user.
        channel, posted = self.sudo(), message.sudo()
        if channel.channel_type == "livechat" and posted.message_type == "comment" \
                and channel._llm_is_visitor(posted):
            channel._llm_on_visitor_message(posted)
        return message

    def _llm_lock(self):
        """Lock the conversation's row before a change that updates it, where the agent's run
        may update it at the same moment (a visitor's post, a hand-off at a run's end).

        Under REPEATABLE READ, of two transactions updating one row the second fails to
        serialize; locking first, quietly, makes it fail here, before it wrote anything and
        with no ERROR in the log, and it is tried again from the start (a request by Odoo,
        a run's end by the engine: engine/run.py). Raises ``SerializationFailure`` then."""
        self.env.cr.execute("SELECT 1 FROM discuss_channel WHERE id = %s FOR NO KEY UPDATE",
                            [self.id], log_exceptions=False)

    def _llm_taken_over_by_writing(self):
        """Whether the current user writing here takes the conversation over: an internal
        user, while the agent answers it, or would but for them (they are a member already,
        joined by one of Discuss's own routes such as a call, and the agent is still the
        conversation's operator)."""
        channel = self.sudo()  # sudo: the operator may not be a member yet
        agent = channel.llm_agent_partner_id
        return channel.channel_type == "livechat" and self.env.user._is_internal() and (
            channel._llm_ai_answering() or bool(
                agent and channel.livechat_operator_id == agent and channel.livechat_active
                and not channel.llm_agent_stopped
                and self.env.user.partner_id in channel.channel_member_ids.partner_id))

    def _llm_is_visitor(self, message):
        """Posted by the visitor: a guest, or a partner who is neither an internal user nor
        the agent."""
        author = message.author_id
        return bool(message.author_guest_id) or bool(
            author and author != self.sudo().llm_agent_partner_id
            and not author.user_ids.filtered(lambda user: not user.share)
            and not author.user_ids.filtered(
                lambda user: user.has_group("llm_livechat.group_livechat_agent")))

    def _llm_on_visitor_message(self, message):
        self.ensure_one()
        if self.llm_contact_pending:
            return self._llm_take_contact(message)
        if not self.llm_ai_handling:
            return
        text = html2plaintext(message.body or "").strip()
        if not text:
            return
        if not self.llm_first_visitor_date:
            self.llm_first_visitor_date = message.create_date
        livechat = self.livechat_channel_id
        if len(text) > livechat.llm_max_message_chars:
            message.llm_livechat_skipped = True
            return self._llm_post_as_agent(self.env._(
                "Your message is too long for me (%(length)s characters; I read at most "
                "%(limit)s). Please shorten it, or split it into questions.",
                length=len(text), limit=livechat.llm_max_message_chars))
        recent = self._llm_recent_visitor_messages(message)
        if recent > livechat.llm_rate_limit:
            message.llm_livechat_skipped = True
            if recent == livechat.llm_rate_limit + 1:  # said once, not at every message
                self._llm_post_as_agent(self.env._(
                    "You are sending messages faster than I can answer. Please wait a minute, "
                    "then ask again."))
            return
        self._llm_answer()

    def _llm_recent_visitor_messages(self, message):
        """How many messages this visitor posted in this channel's conversations within the
        last minute (this one included): the rate limit is per visitor, not per window."""
        author = [("author_guest_id", "=", message.author_guest_id.id)] if message.author_guest_id \
            else [("author_id", "=", message.author_id.id)]
        sessions = self.search([("livechat_channel_id", "=", self.livechat_channel_id.id),
                                ("create_date", ">=", fields.Datetime.now() - timedelta(days=1))])
        return self.env["mail.message"].search_count([
            ("model", "=", "discuss.channel"), ("res_id", "in", sessions.ids),
            ("message_type", "=", "comment"),
            ("create_date", ">=", fields.Datetime.now() - timedelta(minutes=1)), *author])

    def _llm_pending_questions(self):
        """The visitor's messages the agent has not been given yet, oldest first."""
        return self.env["mail.message"].search([
            ("model", "=", "discuss.channel"), ("res_id", "=", self.id),
            ("message_type", "=", "comment"), ("llm_livechat_handled", "=", False),
            ("llm_livechat_skipped", "=", False),
        ], order="id").filtered(self._llm_is_visitor)

    def _llm_answer(self):
        """Start the agent's run on the visitor's unanswered messages (if it is not already
        answering: the run's end picks up what arrived meanwhile)."""
        self.ensure_one()
        pending = self._llm_pending_questions()
        if not pending or not self.llm_ai_handling:
            return
        thread = self._llm_agent_thread()
        if thread.generation_state in ("generating", "waiting"):
            return
        if self._llm_budget_refusal(thread):
            # Given to the team instead: the agent, back later, does not answer them again.
            pending.llm_livechat_handled = True
            return self._llm_handoff("budget")
        text = "\n\n".join(html2plaintext(message.body).strip() for message in pending)
        self._llm_typing(True)
        try:
            thread.with_context(lang=self._llm_visitor_lang(),
                                llm_livechat_session_id=self.id)._llm_start(text)
        except LlmBusyError:
            return  # the run under way answers them at its end
        except UserError as exc:
            # Not the visitor's fault (no model, assistant not allowed...): a person answers.
            _logger.info("live chat %s: the AI agent cannot answer: %s", self.id, exc.args[0])
            self._llm_typing(False)
            pending.llm_livechat_handled = True
            return self._llm_handoff("error")
        # Marked once the thread is claimed: of a visitor's post and a run's end starting the
        # next run at the same moment, the one refused marks nothing. The run begins at the
        # commit; its end answers the messages not marked.
        pending.llm_livechat_handled = True

    def _llm_agent_thread(self):
        """The conversation's llm.thread, owned by the agent's user (created at its first
        question), in that user's environment."""
        self.ensure_one()
        livechat = self.livechat_channel_id
        agent = livechat.llm_agent_user_id
        thread = self.llm_thread_id
        if not thread:
            # The model LLM Chat would give the agent's user; the assistant's own, if it sets
            # one, replaces it below.
            model = livechat._llm_agent_default_model()
            thread = self.env["llm.thread"].with_user(agent).create({
                "name": self.env._("Live chat: %s", self.name),
                "model_id": model.id, "provider_id": model.provider_id.id,
            })
            thread.sudo().livechat_session_id = self  # a server-owned field
            thread._llm_apply_assistant(livechat.llm_assistant_id)
            thread.tool_names = thread._llm_visitor_tool_names()
            self.llm_thread_id = thread
        return thread.with_user(agent)

    def _llm_budget_refusal(self, thread):
        """Whether the agent's budget refuses one more answer (the engine would refuse it
        too, but then the visitor would wait for nothing)."""
        try:
            model, _provider = thread._llm_model_and_provider()
        except UserError:
            return False  # reported when the run is started
        refusal, _warning, _cap = thread.env["llm.budget"]._llm_check(
            model, 0, model.max_output_tokens or 1)
        return bool(refusal)

    def _llm_visitor_lang(self):
        guest = self.channel_member_ids.guest_id[:1]
        visitor = self.channel_member_ids.partner_id.filtered("partner_share") - self.llm_agent_partner_id
        lang = guest.lang or visitor[:1].lang
        return lang if lang in dict(self.env["res.lang"].get_installed()) else self.env.lang

    # ------------------------------------------------------------------
    # The agent writes
    # ------------------------------------------------------------------

    def _llm_agent_member(self):
        return self.channel_member_ids.filtered(lambda m: m.partner_id == self.llm_agent_partner_id)

    def _llm_typing(self, typing):
        self._llm_agent_member()._notify_typing(typing)

    def _llm_post_as_agent(self, body):
        """Post ``body`` (text, or Markup) in the conversation as the agent."""
        self.ensure_one()
        return self.with_context(mail_create_nosubscribe=True).message_post(
            author_id=self.llm_agent_partner_id.id, body=body, message_type="comment",
            subtype_xmlid="mail.mt_comment")

    def _llm_mirror(self, source, final):
        """Show the answer ``source`` (a message of the agent's llm.thread) in the
        conversation: posted as the agent at its first save, then updated in place (every
        member's client gets the new body over the bus) until its final save.

        Every save renders the markdown written so far (a construct still open at the cut
        stays text until it is closed) and stores it through the ORM, whose sanitizer makes
        the model's HTML and links safe and closes what the cut left open; the final save adds
        the sources' links."""
        self.ensure_one()
        text = message_text(source).strip()
        if not text:
            return  # a turn with only tool calls, or a failure before any text
        # A failed answer's final save still carries its whole partial text: the visitor
        # reads it before the run's end hands over.
        body = markdown_html(text)
        if final:
            body += self._llm_sources_footer(text)
        mirror = self.env["mail.message"].search([
            ("model", "=", self._name), ("res_id", "=", self.id),
            ("llm_livechat_source_id", "=", source.id)], limit=1)
        if not mirror:
            # Nothing written on the conversation's row (see write; the time to the first
            # answer is written at the run's end): the visitor may be posting meanwhile.
            self._llm_typing(False)
            mirror = self.with_context(**{MIRRORING: True})._llm_post_as_agent(body)
            mirror.llm_livechat_source_id = source.id
            return
        mirror.body = body
        mirror._bus_send_store(mirror, {"body": mirror.body, "write_date": mirror.write_date})

    def _llm_sources_footer(self, text):
        """Links to the public pages of the knowledge sources the answer cites ([n]): each
        source once, by its name (a passage's label is its file's name, internal), with the
        numbers citing it; found by the cited passage's id, not by name (two sources may
        share one)."""
        question = self.llm_thread_id._llm_history().filtered(lambda m: m.llm_role == "user")[-1:]
        citations = (question.body_json or {}).get("knowledge") or []
        sources = self.llm_thread_id.sudo()._llm_knowledge_sources()
        chunks = self.env["llm.knowledge.chunk"].sudo().browse(
            [c["chunk_id"] for c in citations if c.get("chunk_id")]).exists()
        cited = {}  # source: its numbers, in the order first cited
        for citation in citations:
            source = chunks.filtered(lambda c, cid=citation.get("chunk_id"): c.id == cid).source_id
            if source in sources and source.public_url and f"[{citation['n']}]" in text:
                cited.setdefault(source, []).append(str(citation["n"]))
        if not cited:
            return Markup()
        links = [Markup('[%s] <a href="%s" target="_blank">%s</a>') % (
            ", ".join(numbers), source.public_url, source.name)
            for source, numbers in cited.items()]
        return Markup("<p>%s %s</p>") % (self.env._("Sources:"), Markup(", ").join(links))

    def _llm_after_run(self, thread):
        """The agent's run ended: hand over when a rule says so, else answer what the visitor
        wrote meanwhile."""
        self.ensure_one()
        self._llm_typing(False)
        # The counters are the agent's own row: a visitor posting meanwhile updates the
        # conversation's, which an answer's end leaves alone (a hand-off writes it: see
        # _llm_handoff).
        state = self._llm_state()
        if not state.first_answer_seconds and self.llm_first_visitor_date:
            first = self.env["mail.message"].search([
                ("model", "=", self._name), ("res_id", "=", self.id),
                ("llm_livechat_source_id", "!=", False)], order="id", limit=1)
            if first:
                # Both creation dates are transaction times, the question's and the answer's
                # first save's, from the same clock and to the microsecond
                # (fields.Datetime.now() has none).
                state.first_answer_seconds = (
                    first.create_date - self.llm_first_visitor_date).total_seconds()
        answer = thread._llm_history().filtered(lambda m: m.llm_role == "assistant")[-1:]
        error = (answer.body_json or {}).get("error") if answer else None
        if thread.generation_state == "error" or error:
            code = (error or {}).get("code")
            if code == "budget_exceeded":
                return self._llm_handoff("budget")  # its managers heard of it (llm.budget)
            failure = self._llm_failure_text(thread, error)
            self._llm_notify_failure(thread, code, failure)
            return self._llm_handoff("error", error=failure)
        if state.handoff_requested:
            reason, summary = state.handoff_requested, state.handoff_summary
            state.write({"handoff_requested": False, "handoff_summary": False})
            return self._llm_handoff(reason, summary)
        state.answer_count += 1
        livechat = self.livechat_channel_id
        question = thread._llm_history().filtered(lambda m: m.llm_role == "user")[-1:]
        if (question.body_json or {}).get("knowledge"):
            state.unsourced_count = 0  # in a row: a sourced answer starts the count again
        elif thread._llm_knowledge_sources() and self._llm_is_question(message_text(question)):
            state.unsourced_count += 1
            if livechat.llm_handoff_unsourced and \
                    state.unsourced_count >= livechat.llm_handoff_unsourced:
                return self._llm_handoff("no_source")
        if livechat.llm_handoff_turns and state.answer_count >= livechat.llm_handoff_turns \
                and not self._llm_thumbs(THUMBS_UP):
            return self._llm_handoff("turns")
        self._llm_answer()

    @api.model
    def _llm_is_question(self, text):
        """Whether ``text`` asks for something the knowledge base should know: it has a
        question mark or at least ``QUESTION_WORDS`` words. A greeting or a thanks ("Hi",
        "Thanks a lot!") finds no passage and needs none: it does not count as unsourced."""
        return "?" in text or len(text.split()) >= QUESTION_WORDS

    def _llm_thumbs(self, emoji):
        """The visitor's reactions ``emoji`` on the agent's answers."""
        return self.env["mail.message.reaction"].search([
            ("message_id.model", "=", self._name), ("message_id.res_id", "=", self.id),
            ("message_id.author_id", "=", self.llm_agent_partner_id.id),
            ("content", "=", emoji)])

    # ------------------------------------------------------------------
    # Hand-off
    # ------------------------------------------------------------------

    def _llm_handoff(self, reason, summary=None, error=None):
        """Bring a human operator in (chosen by im_livechat's rules), or with none available
        ask the visitor for their email. The agent stops answering either way. ``error``:
        why the AI failed (reason "error"), in words."""
        self.ensure_one()
        if not self.llm_ai_handling:
            return False
        # The one change of a run's end that writes the conversation's row (its operator, its
        # name, its hand-off fields; the notices posted), as a visitor's post does.
        self._llm_lock()
        livechat = self.livechat_channel_id
        visitor_messages = self.env["mail.message"].search([
            ("model", "=", self._name), ("res_id", "=", self.id),
            ("message_type", "=", "comment")], order="id").filtered(self._llm_is_visitor)
        questions = [html2plaintext(m.body).strip() for m in visitor_messages]
        # The last question the agent was given: what the visitor wrote while it was at work
        # (their email, while a provider retried) is no question.
        handled = visitor_messages.filtered("llm_livechat_handled")[-1:]
        asked = handled or visitor_messages[-1:]
        self.write({
            "llm_handoff_reason": reason, "llm_handoff_date": fields.Datetime.now(),
            "llm_handoff_question": html2plaintext(asked.body).strip() if asked else False,
            "llm_handoff_summary": summary or self._llm_default_summary(reason, questions, error),
            "llm_handoff_error": error or False,
        })
        human = livechat._llm_human_operator(lang=self._llm_visitor_lang(),
                                             country_id=self.country_id.id)
        if not human:
            self.llm_agent_stopped = True
            # An email the visitor already wrote, in the last question the agent was given or
            # after it (while the agent was at work, a provider retrying): not asked for again.
            given = visitor_messages.filtered(lambda m: m.id >= handled.id)
            email = next(filter(None, map(self._llm_email_in, reversed(given))), None)
            if email:
                self._llm_keep_contact(email, self.env._(
                    "No one from the team is available right now. They will write to you at "
                    "%s as soon as they can.", email))
            else:
                self.llm_contact_pending = True
                self._llm_post_as_agent(self.env._(
                    "No one from the team is available right now. Leave your email address "
                    "here and they will answer you by email as soon as they can."))
            return False
        self._add_members(users=human, inviting_partner=self.llm_agent_partner_id,
                          open_chat_window=True)
        visitor_name = self.anonymous_name or (
            self.channel_member_ids.partner_id - self.llm_agent_partner_id - human.partner_id
        )[:1].name or ""
        self.write({"livechat_operator_id": human.partner_id.id,
                    "name": " ".join(filter(None, [visitor_name,
                                                   human.livechat_username or human.name]))})
        self._broadcast(human.partner_id.ids)
        human.partner_id._bus_send_transient_message(self, self._llm_summary_html(visitor_name))
        return human

    def _llm_default_summary(self, reason, questions, error=None):
        """The summary when the model wrote none (its hand-off tool asks for one)."""
        label = dict(self._fields["llm_handoff_reason"]._description_selection(self.env))[reason]
        asked = " / ".join(questions[-SUMMARY_QUESTIONS:]) or self.env._("nothing yet")
        if error:
            return self.env._("Handed over: %(reason)s: %(error)s The visitor asked: %(questions)s",
                              reason=label, error=error, questions=asked)
        return self.env._("Handed over: %(reason)s. The visitor asked: %(questions)s",
                          reason=label, questions=asked)

    def _llm_failure_text(self, thread, error):
        """Why the agent's run failed, in words: the engine's message for the run (the
        provider's error as ``llm.provider._error_message`` put it for the agent), then the
        provider's own words."""
        error = error or {}
        message = error.get("message") or thread.generation_error or self.env._(
            "The AI agent's answer failed without a message; see the server log.")
        if error.get("detail"):
            return "\n".join([message, self.env._("The provider said: %s", error["detail"])])
        return message

    def _llm_notify_failure(self, thread, kind, failure):
        """Tell the LLM managers that the agent's provider failed, with where to fix it, as
        llm.budget tells them of a budget 80% used: once per provider and kind of failure in
        ``FAILURE_NOTICE_INTERVAL`` (every visitor meets the same failure meanwhile)."""
        provider = thread.sudo().provider_id
        if not provider:
            return
        now = fields.Datetime.now()
        kind = kind or "internal"
        # Only one of two visitors' runs failing at once sends the notice.
        claimed = notify_once(self.env.cr, """
            UPDATE llm_provider
               SET livechat_failure_notices = COALESCE(livechat_failure_notices, '{}')
                                              || jsonb_build_object(%(kind)s, %(now)s)
             WHERE id = %(id)s
               AND COALESCE((livechat_failure_notices ->> %(kind)s)::timestamp,
                            '-infinity') <= %(since)s
         RETURNING id""", {"kind": kind, "now": now, "id": provider.id,
                           "since": now - FAILURE_NOTICE_INTERVAL})
        provider.invalidate_recordset(["livechat_failure_notices"])
        company = self.env["llm.usage"]._llm_company(provider)
        managers = self.env["llm.budget"]._llm_managers(company)
        if not claimed or not managers:
            return
        paragraphs = [
            self.env._("The live chat AI agent could not answer a visitor of \"%(channel)s\" and "
                       "handed the conversation over to the team:",
                       channel=self.livechat_channel_id.name),
            *failure.split("\n"),
            self.env._("Fix the provider \"%(provider)s\" in LLM > Configuration > Providers: "
                       "until then every visitor it should answer is handed over. This notice "
                       "comes again in an hour if the failure goes on.",
                       provider=provider.name),
        ]
        body = Markup("").join(Markup("<p>%s</p>") % paragraph for paragraph in paragraphs)
        # Queued, not sent at commit: the visitor's hand-off waits for this transaction.
        self.env["mail.thread"].sudo().with_context(mail_notify_force_send=False).message_notify(
            model=provider._name, res_id=provider.id, partner_ids=managers.partner_id.ids,
            author_id=self.env.ref("base.partner_root").id, body=body,
            subject=self.env._("Live chat AI agent failing: %s", provider.name))

    def _llm_summary_html(self, visitor_name=""):
        """What the operator joining reads first: the summary, then what is known of the
        visitor (name, country, language, email)."""
        languages = dict(self.env["res.lang"].get_installed())
        details = [(label, value) for label, value in (
            (self.env._("Visitor"), visitor_name),
            (self.env._("Country"), self.country_id.name),
            (self.env._("Language"), languages.get(self._llm_visitor_lang())),
            (self.env._("Email"), self.llm_contact_email),
        ) if value]
        return Markup("<b>%s</b> %s") % (self.env._("AI summary:"), self.llm_handoff_summary) \
            + Markup("").join(Markup("<br/>%s: %s") % detail for detail in details)

    def _llm_take_contact(self, message):
        """The visitor's answer to the request for their email: without one, they are asked
        once more, then no longer (they may not want to give it); an email they write later
        is still taken."""
        email = self._llm_email_in(message)
        if email:
            return self._llm_keep_contact(email, self.env._(
                "Thank you. The team will write to you at %s as soon as possible.", email))
        if self.llm_contact_reminded:
            return False
        self.llm_contact_reminded = True
        # Often a question, not a refusal: the visitor is told what happens to it.
        return self._llm_post_as_agent(self.env._(
            "I can no longer answer here, and no one from the team is available right now. "
            "Write your email address (like name@example.com) and the team will answer you by "
            "email: they will read everything you wrote here."))

    @api.model
    def _llm_email_in(self, message):
        """The (normalized) email address written in ``message``, or False."""
        text = html2plaintext(message.body or "")
        return email_normalize((EMAIL.search(text) or [None])[0] or "")

    def _llm_keep_contact(self, email, reply):
        """With no operator, the visitor's email becomes a lead (CRM installed); it is kept
        on the conversation either way, listed in Live Chat > AI Conversations. The visitor
        reads ``reply``."""
        self.write({"llm_contact_email": email, "llm_contact_pending": False})
        if self._llm_crm_installed():
            self._llm_create_lead(email)
        return self._llm_post_as_agent(reply)

    def _llm_crm_installed(self):
        return "crm.lead" in self.env

    def _llm_create_lead(self, email):
        """A lead for the sales team, as crm_livechat's own leads: source *Livechat*, the
        conversation's transcript in the description (after the summary), assigned to no one
        (the visitor's request runs as the public user, who is no salesperson)."""
        source = self.env.ref("crm_livechat.utm_source_livechat", raise_if_not_found=False)
        lead = self.env["crm.lead"].create({
            "name": self.env._("Live chat: %s", self.llm_handoff_question or self.name)[:200],
            "email_from": email,
            "contact_name": self.anonymous_name or False,
            "description": Markup("<p>%s</p>") % self.llm_handoff_summary
            + self._get_channel_history(),
            "source_id": source.id if source else False,
            "user_id": False,
        })
        _logger.info("live chat %s: lead %s created for the visitor", self.id, lead.id)
        return lead

    def _action_unfollow(self, partner=None, guest=None):
        """An operator leaving a conversation the agent was in gives it back to the agent."""
        channel = self.sudo()  # sudo: the operator is no longer a member afterwards
        result = super()._action_unfollow(partner=partner, guest=guest)
        if channel.channel_type == "livechat" and channel.livechat_active and partner \
                and not partner.partner_share and channel.llm_ai_handling:
            channel.livechat_operator_id = channel.llm_agent_partner_id
            channel._llm_post_as_agent(self.env._(
                "I am back to answer your questions. Ask for a person at any time."))
        return result

    # ------------------------------------------------------------------
    # Operators
    # ------------------------------------------------------------------

    def _llm_may_operate(self):
        """Whether the current user may take this conversation over or give it to the AI: an
        internal user who is an operator of its live chat channel, or a live chat manager."""
        self.ensure_one()
        user = self.env.user
        return user._is_internal() and (
            user in self.sudo().livechat_channel_id.user_ids
            or user.has_group("im_livechat.im_livechat_group_manager"))

    def _llm_check_operator(self):
        """The one access gate of the operators' actions, from the list or from Discuss."""
        self.ensure_one()
        if not self._llm_may_operate():
            raise UserError(self.env._(
                "Only operators of %s may take its conversations over or give them to the AI.",
                self.sudo().livechat_channel_id.name))

    def action_llm_take_over(self):
        """An operator takes the conversation from the agent: joins it (the agent stops)."""
        self._llm_check_operator()
        channel = self.sudo()  # sudo: the operator is not a member yet
        if not channel.llm_handoff_reason:
            channel.write({"llm_handoff_reason": "operator",
                           "llm_handoff_date": fields.Datetime.now()})
        if self.env.user.partner_id not in channel.channel_member_ids.partner_id:
            channel._add_members(users=self.env.user, open_chat_window=True)
        channel.livechat_operator_id = self.env.user.partner_id
        return {"type": "ir.actions.client", "tag": "mail.action_discuss",
                "params": {"active_id": f"discuss.channel_{self.id}"}}

    def action_llm_invite_agent(self):
        """An operator hands the conversation to the channel's agent: it joins, and answers
        once no operator is in the conversation."""
        self._llm_check_operator()
        channel = self.sudo()  # sudo: the agent's user is not the operator's to read
        agent = channel.livechat_channel_id.llm_agent_user_id
        if not agent:
            raise UserError(self.env._("The live chat channel %s has no AI agent: set its AI "
                                       "Assistant first.", channel.livechat_channel_id.name))
        channel.write({"llm_agent_partner_id": agent.partner_id.id, "llm_agent_stopped": False})
        if agent.partner_id not in channel.channel_member_ids.partner_id:
            channel._add_members(users=agent, inviting_partner=self.env.user.partner_id)
        return True

    # ------------------------------------------------------------------
    # Discuss: which conversations the AI answers (a marker, and the actions above)
    # ------------------------------------------------------------------

    def _to_store(self, store):
        super()._to_store(store)
        if not self.env.user._is_internal():
            return  # the visitor's widget never learns who may take the conversation over
        for channel in self.filtered(lambda c: c.channel_type == "livechat"):
            store.add(channel, {
                "llm_ai_answering": channel._llm_ai_answering(),
                "llm_agent_available": bool(channel.sudo().livechat_channel_id.llm_agent_user_id)
                and channel._llm_may_operate(),
            })

    def _llm_ai_answering(self):
        """What Discuss marks: the AI answers, and the visitor has not closed the chat."""
        self.ensure_one()
        return self.llm_ai_handling and self.livechat_active

    @api.model
    def _llm_discuss_conversations(self):
        """The open conversations the AI answers in the current user's live chat channels:
        listed in their Discuss (its live chat section) though they are not members."""
        return self.search([("channel_type", "=", "livechat"), ("livechat_active", "=", True),
                            ("llm_ai_handling", "=", True),
                            ("livechat_channel_id.user_ids", "in", self.env.uid)])

    def _llm_watch_handling(self):
        """Call before a change that may start or stop the AI's answers in these conversations
        (_llm_ai_answering): where it did by the time the transaction commits, the conversation
        is sent to Discuss (after the change's own notifications, such as an operator's
        leaving)."""
        conversations = self.sudo().filtered(lambda c: c.channel_type == "livechat")
        if not conversations:
            return  # every other channel's members come and go with nothing to tell
        before = self.env.cr.precommit.data.get("llm_livechat.handling")
        if before is None:
            before = self.env.cr.precommit.data["llm_livechat.handling"] = {}
            self.env.cr.precommit.add(self.env["discuss.channel"].sudo()._llm_send_handling)
        for channel in conversations:
            before.setdefault(channel.id, channel._llm_ai_answering())

    def _llm_send_handling(self):
        """Sends the watched conversations whose AI now answers or stops to their internal
        members and their live chat channel's operators."""
        before = self.env.cr.precommit.data.pop("llm_livechat.handling")
        for channel in self.browse(before).exists():
            if channel._llm_ai_answering() != before[channel.id]:
                internal = channel.channel_member_ids.partner_id.filtered(
                    lambda p: p.user_ids and not p.partner_share)
                # Each in their own rights (_broadcast): only what they may read and do.
                channel._broadcast((internal | channel.livechat_channel_id.user_ids.partner_id).ids)

    # ------------------------------------------------------------------
    # Tools for the agent (marked safe for visitors)
    # ------------------------------------------------------------------

    @api.model
    def _llm_agent_session(self):
        """The conversation the current run answers, when it is the current user's (the
        agent's) own: tools refuse to work anywhere else."""
        session = self.sudo().search([("llm_thread_id.user_id", "=", self.env.uid),
                                      ("id", "=", self.env.context.get("llm_livechat_session_id"))])
        if not session:
            raise UserError(self.env._("This tool only works in a live chat conversation."))
        return session

    @api.model
    @llm_tool("Hand this live chat conversation over to a person of the team. Call it when "
              "the visitor asks for a person, or when you cannot answer from what you know.",
              {"type": "object", "properties": {
                  "summary": {"type": "string",
                              "description": "Two or three sentences for the operator: who the "
                                             "visitor is (details they gave) and what they need."},
                  "visitor_asked": {"type": "boolean",
                                    "description": "True when the visitor asked for a person."}},
               "required": ["summary"]})
    def _llm_tool_livechat_handoff(self, summary, visitor_asked=False):
        session = self._llm_agent_session()
        if not isinstance(summary, str) or not summary.strip():
            raise UserError(self.env._("Give the operator a summary in 'summary'."))
        # Acted on when the run ends, so that the visitor reads the agent's last words first.
        session._llm_state().write({"handoff_requested": "visitor" if visitor_asked else "agent",
                                    "handoff_summary": summary.strip()[:2000]})
        return {"handing_over": True}
