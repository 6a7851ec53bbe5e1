"""Odoo's own AI in the HTML editor through the provider configured here.

The editor's AI dialogs (html_editor's ChatGPT dialogs: "AI" in the toolbar and the powerbox,
alternatives of a selection, "Translate with AI"; web_editor's older ones call the same route)
post ``/html_editor/generate_text`` (or ``/web_editor/generate_text``) with the user's latest
request and the dialog's conversation, and insert the text answered. Odoo answers it through
its paid IAP service (olg.api.odoo.com), sending the document's text to Odoo whatever provider
the company chose here: with llm_thread installed, the route answers with the model a new LLM
Chat conversation of the user would use, as the user (their companies and record rules), under
their budgets, and records the call's usage like an answer of the chat's.

The dialogs take the answer as one text (non-streamed), and show an error's message
(``error.data.message``) in place of the answer.
"""

import logging
import uuid

from odoo import http
from odoo.addons.html_editor.controllers.main import HTML_Editor
from odoo.exceptions import UserError
from odoo.http import request

from ..engine.tokens import call_usage, carries_history, estimate_prompt_tokens
from ..models.llm_thread import check_input
from ..providers import base
from .main import _use_selected_companies

_logger = logging.getLogger(__name__)

# The roles the dialogs write; a tool message needs a call the dialogs never make.
HISTORY_ROLES = ("system", "user", "assistant")


class HtmlEditorLlm(HTML_Editor):

    @http.route()
    def generate_text(self, prompt, conversation_history):
        _use_selected_companies()
        env = request.env
        try:
            messages = editor_messages(env, prompt, conversation_history)
            return generate(env, messages)
        except UserError as exc:  # AccessError included
            # The dialog shows the message; a user's refusal is not a server problem.
            exc.loglevel = logging.INFO
            raise


def editor_messages(env, prompt, conversation_history):
    """The prompt sent to the model: the dialog's conversation, then ``prompt`` unless the
    conversation ends with it already (the "AI" dialog adds it before sending, the
    alternatives and translation dialogs after the answer)."""
    check_input(env, {"prompt": prompt}, {"prompt": ("text",)})
    if not prompt.strip():
        raise UserError(env._("Write what the AI should do."))
    history = conversation_history or []
    if type(history) is not list:
        raise UserError(env._("Invalid value for conversation_history: expected a list of "
                              "messages."))
    messages = []
    for item in history:
        check_input(env, item, {"role": ("text",), "content": ("text",)})
        if item["role"] not in HISTORY_ROLES:
            raise UserError(env._("Invalid message role \"%(role)s\": expected %(roles)s.",
                                  role=item["role"], roles=", ".join(HISTORY_ROLES)))
        if item["role"] == "assistant" and not any(m.role == "user" for m in messages):
            # The dialog's greeting ("What do you need ?"): Anthropic's Messages API wants
            # the user to speak first, and the model needs no greeting of its own.
            continue
        messages.append(base.ChatMessage(item["role"], item["content"]))
    request_message = base.ChatMessage("user", prompt)
    if not messages or messages[-1] != request_message:
        messages.append(request_message)
    return messages


def generate(env, messages):
    """The text ``messages`` get from the user's default chat model; raises ``UserError``
    with the message the dialog shows (no model, a budget's refusal, the provider's error)."""
    Thread = env["llm.thread"]
    model = Thread._llm_ui_default_model()
    if not model:
        raise UserError(env["llm.provider"]._llm_not_configured_message())
    provider = model.provider_id
    client, api_id, _window, reserve = Thread._llm_resolve_model(model, provider)
    prompt_tokens = estimate_prompt_tokens(messages, [])
    # As a chat's call: under a hard budget, what it may cost is reserved until its usage line
    # replaces it, so that calls made at the same moment cannot pass the budget together.
    token = uuid.uuid4().hex
    refusal, _warning, answer_cap, reserved = env["llm.budget"]._llm_check_call(
        model, prompt_tokens, reserve, (None, token), history=carries_history(messages))
    if refusal:
        keep_and_raise(env, refusal)
    options = env["llm.assistant"]._llm_chat_options(model, answer_cap)
    # The other calls see the reservation, and take their turn at the budgets' rows, while
    # this one waits for the provider.
    env.cr.commit()
    text, reasoning, usage, failure = [], [], None, None
    try:
        for item in client.chat(api_id, messages, (), options):
            if isinstance(item, base.TextDelta):
                text.append(item.text)
            elif isinstance(item, base.ReasoningDelta):
                reasoning.append(item.text)
            elif isinstance(item, base.Usage):
                usage = item
    except base.ProviderError as exc:
        failure = exc
    finally:
        # Counted as the chat's answers are; committed at once, so that the reservation is
        # given back whatever the request does next.
        usage, estimated = call_usage(
            usage, (failure.input_tokens, failure.output_tokens) if failure else (None, None),
            prompt_tokens, text, reasoning)
        env["llm.usage"]._llm_count_call(Thread, env["mail.message"], model, provider, usage,
                                         estimated, reserved and token)
        env.cr.commit()
    if failure:
        _logger.info("html_editor generate_text: provider error %s: %s %s", failure.kind,
                     failure.message, failure.detail)
        # In the user's language, and for who can fix it.
        keep_and_raise(env, env["llm.provider"]._error_message(failure))
    return "".join(text)


def keep_and_raise(env, message):
    """Refuse with ``message``, keeping what was written before (a budget's notice to the
    managers): Odoo rolls the request's transaction back with the error."""
    env.cr.commit()
    raise UserError(message)
