"""Token usage and cost: one ``llm.usage`` line per provider call.

A line is written by the generation in the same short transaction as the assistant message's
final write (``Generation._finalise``), so recording usage adds no database round-trip to the
stream. Tokens are the provider's counts when it sends them; otherwise (an OpenAI-compatible
server ignoring ``include_usage``, an answer stopped or cut before the closing frame) they are
estimated like the context builder does and the line is flagged ``estimated``.

The company a call counts in (its line, its currency, the budgets checked before it) is its
provider's, whose key and bill it uses, when the provider belongs to one; else the current
company (the company switcher's).

Every paid call goes this way: ``llm.budget._llm_check_call()`` before it (a reservation under
hard budgets when the caller has one to give back), ``engine.tokens.call_usage()`` for what its
line counts, ``_llm_count_call()`` for the line in place of the reservation. Chat calls (the
conversations' answers, Odoo's editor AI) and embedding calls (knowledge indexing and search:
``_llm_check_embedding()``, ``_llm_count_embedding()``) are told apart by ``kind``.

Cost: the model's prices are per million tokens in the provider's billing currency
(``llm.provider.currency_id``), converted into the company's currency at the call's date.
"""

from odoo import api, fields, models

from ..engine.tokens import estimate_tokens
from ..providers.base import Usage


class LlmUsage(models.Model):
    _name = "llm.usage"
    _description = "LLM Usage"
    _order = "date desc, id desc"
    _rec_name = "model_id"

    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True, readonly=True)
    user_id = fields.Many2one("res.users", string="User", required=True, index=True,
                              ondelete="cascade", readonly=True)
    company_id = fields.Many2one("res.company", string="Company", required=True, index=True,
                                 ondelete="cascade", readonly=True)
    thread_id = fields.Many2one("llm.thread", string="Conversation", index=True,
                                ondelete="set null", readonly=True)
    message_id = fields.Many2one("mail.message", string="Answer", index="btree_not_null",
                                 ondelete="set null", readonly=True)
    provider_id = fields.Many2one("llm.provider", string="Provider", ondelete="set null",
                                  readonly=True)
    model_id = fields.Many2one("llm.model", string="Model", ondelete="set null", readonly=True)
    # Lines written before embeddings were counted are all chat calls: the default fills them.
    kind = fields.Selection(
        [("chat", "Chat"), ("embedding", "Embedding")], required=True, default="chat",
        readonly=True,
        help="Chat: an answer of a conversation, or of the HTML editor's AI. Embedding: text "
             "turned into vectors, to index a knowledge source or search one by meaning.")
    input_tokens = fields.Integer(readonly=True)
    output_tokens = fields.Integer(readonly=True)
    total_tokens = fields.Integer(readonly=True)
    estimated = fields.Boolean(
        readonly=True,
        help="The provider sent no token counts for this call: they are estimated from the "
             "text (about four characters a token).")
    # Not Monetary: one call often costs a fraction of a cent, which the currency's rounding
    # would turn into zero; the sums in the reports stay exact this way.
    cost = fields.Float(digits=(16, 6), readonly=True,
                        help="From the model's prices, in the company's currency.")
    currency_id = fields.Many2one("res.currency", string="Currency", required=True,
                                  readonly=True)

    @api.model
    def _llm_cost(self, model, input_tokens, output_tokens, company, date):
        """The cost of a call in ``company``'s currency (unrounded)."""
        amount = (input_tokens * model.input_price + output_tokens * model.output_price) / 1e6
        source = model.provider_id.currency_id or company.currency_id
        return source._convert(amount, company.currency_id, company, date, round=False)

    @api.model
    def _llm_company(self, provider):
        """The company a call to ``provider`` counts in (see the module's docstring)."""
        return provider.company_id or self.env.company

    @api.model
    def _llm_existing(self, records):
        """The part of ``records`` (of one model) that still exists, locked until the end of
        the transaction against deletion (as a foreign key's check locks it): a line referring
        to them can then be written; deleting them waits, and then empties the line's field
        (``ondelete='set null'``). Raises ``SerializationFailure`` when one was deleted since
        this transaction began (retry in a new one), without the "bad query" ERROR a failed
        insert logs."""
        if not records:
            return records
        self.env.cr.execute(f'SELECT id FROM "{records._table}" WHERE id IN %s FOR KEY SHARE',
                            (tuple(records.ids),), log_exceptions=False)
        return records.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _llm_count_call(self, thread, message, model, provider, usage, estimated, reservation,
                        kind="chat"):
        """The line of one provider call (``usage``, ``estimated`` as
        ``engine.tokens.call_usage()`` gives them; none when ``usage`` is None), written in
        place of the budget reservation the call made (``reservation``: its claim's token, see
        ``llm.budget._llm_check_call()``; falsy: none); returns the line."""
        line = self._llm_record(thread, message, model, provider, usage, estimated, kind) \
            if usage else self
        if reservation:
            self.env["llm.budget.reservation"]._llm_release(reservation)
        return line

    @api.model
    def _llm_check_embedding(self, model, texts):
        """The budgets' refusal (a message saying what to do) of embedding ``texts`` with
        ``model`` now, or None. Without a reservation: an embedding call is made in its
        caller's transaction (an indexing step, a search), and costs little."""
        return self.env["llm.budget"]._llm_check_call(
            model, sum(map(estimate_tokens, texts)), 0, embedding=True)[0]

    @api.model
    def _llm_count_embedding(self, model, texts, embeddings):
        """The line of one embedding call of ``model`` for ``texts`` (whatever its caller):
        the input tokens the provider counted, else estimated."""
        counted = embeddings.input_tokens
        return self._llm_count_call(
            self.env["llm.thread"], self.env["mail.message"], model, model.provider_id,
            Usage(counted or sum(map(estimate_tokens, texts)), 0), not counted, None,
            kind="embedding")

    @api.model
    def _llm_record(self, thread, message, model, provider, usage, estimated, kind="chat"):
        """Write the line of one provider call, as the system (users only read theirs).
        ``thread`` and ``message`` as ``_llm_existing()`` gives them: the call was made, so its
        line is written even when its conversation or its answer was deleted meanwhile (empty
        recordsets then)."""
        company = self._llm_company(provider)
        now = fields.Datetime.now()
        return self.sudo().create({
            "date": now,
            "user_id": self.env.uid,
            "company_id": company.id,
            "thread_id": thread.id,
            "message_id": message.id,
            "provider_id": provider.id,
            "model_id": model.id,
            "kind": kind,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
            "estimated": estimated,
            "cost": self._llm_cost(model, usage.input_tokens, usage.output_tokens, company, now),
            "currency_id": company.currency_id.id,
        })
