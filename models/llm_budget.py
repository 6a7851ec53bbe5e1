"""Monthly budgets, per user or per company, in tokens or money.

``llm.budget._llm_check_call()`` runs before every provider call (``Generation._read_call``),
in the transaction that builds the prompt: a hard budget that leaves no room for this call's
prompt and a useful answer refuses it before any request leaves, and a call that goes ahead is
capped to the tokens the budget has left; from 80% used on, the user is warned in the chat and
the LLM managers of the company get one message a budget and month.

Calls made at the same time: a call that goes ahead under a hard budget reserves what it may
cost (its estimated prompt and its answer's cap, ``llm.budget.reservation``) in the checking
transaction, which also writes the budgets' rows: two checks of one budget thus take turns
(the second one's transaction, begun before the first one committed, fails to serialize and is
retried, and then sees the first one's reservation). The call's usage line replaces its
reservation (``llm.usage._llm_count_call``); a reservation counts only while the generation that
made it holds its claim, so one left by a killed process stops counting with that claim. A call
without a conversation (Odoo's editor AI) reserves under a claim of its own, ``(None, token)``,
which counts while the process making the call lives (``engine.claim.Liveness``).

Embedding calls (knowledge indexing and search) are checked without a reservation: they are made
in their caller's transaction, which other checks cannot see before it ends.
"""

import math

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.misc import formatLang

from ..engine.claim import LIVENESS_NAMESPACE, STALE_AFTER, Liveness


def notify_once(cr, query, params):
    """Whether this transaction is the one to send a notice: ``query`` is an UPDATE that sets
    the record's "notified" mark only where it is not set yet, RETURNING the row. Of two
    transactions reaching a threshold at the same moment, one sets it; the other's UPDATE
    waits and then finds it set, or fails to serialize, quietly (in a savepoint)."""
    try:
        with cr.savepoint():
            cr.execute(query, params, log_exceptions=False)
            return cr.fetchone() is not None
    except psycopg2.errors.SerializationFailure:
        return False  # another transaction is notifying right now


WARNING_RATIO = 0.8
# The shortest answer worth a call under a hard budget (or the answer reserve, when smaller):
# with less left, the call is refused rather than cut after a few words.
MIN_ANSWER_TOKENS = 256
# What current chat models write at least in one answer (GPT-4o 16,384, Claude 4 64,000): a
# hard budget's cap above it is not sent for a model whose Max Output Tokens is unknown (the
# OpenAI and Anthropic model lists do not give it), since the APIs refuse a max_tokens above
# the model's own limit.
UNKNOWN_OUTPUT_LIMIT = 16_384


def month_start(now):
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class LlmBudget(models.Model):
    _name = "llm.budget"
    _description = "LLM Budget"
    _inherit = ["mail.thread"]
    _order = "company_id, scope, name, id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    scope = fields.Selection(
        [("user", "One user"), ("company", "Whole company")], required=True, default="user",
        tracking=True,
        help="One user: counts that user's calls in the company. Whole company: counts every "
             "call made in the company.")
    user_id = fields.Many2one("res.users", string="User", tracking=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", string="Company", required=True,
                                 default=lambda self: self.env.company, tracking=True)
    unit = fields.Selection(
        [("tokens", "Tokens"), ("money", "Money")], required=True, default="tokens",
        tracking=True, help="Tokens: input and output tokens together. Money: the cost of the "
                            "calls from the models' prices, in the company's currency.")
    limit = fields.Float(string="Monthly Limit", required=True, tracking=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    hard = fields.Boolean(
        string="Hard Limit", default=True, tracking=True,
        help="Refuse a call that would exceed the budget. Otherwise the budget only warns.")
    # "YYYY-MM" of the month the managers were told the budget reached 80%: once a month.
    notified_month = fields.Char(readonly=True, copy=False)
    consumed_percent = fields.Float(string="Used (%)", compute="_compute_consumed")
    # As the chat's messages say it: whole tokens, or the currency's cents (finer when small).
    consumed_display = fields.Char(string="Used This Month", compute="_compute_consumed")
    # The list mixes token and money budgets: whole tokens, not "10,000,000.00".
    limit_display = fields.Char(string="Limit", compute="_compute_consumed")

    # A money budget counts nothing for a model without a price: its form says so.
    price_warning = fields.Char(compute="_compute_price_warning")

    _sql_constraints = [
        ("limit_positive", "CHECK(\"limit\" > 0)", "A budget's limit must be positive."),
    ]

    @api.constrains("scope", "user_id")
    def _check_user(self):
        for budget in self:
            if budget.scope == "user" and not budget.user_id:
                raise ValidationError(self.env._(
                    "The budget \"%s\" is for one user: choose the user.", budget.name))

    @api.depends("scope", "user_id", "company_id", "unit", "limit")
    def _compute_consumed(self):
        now = fields.Datetime.now()
        for budget in self:
            used = budget._llm_consumed(now)
            budget.consumed_percent = 100 * used / budget.limit if budget.limit else 0
            budget.consumed_display = budget._llm_amount(used)
            budget.limit_display = budget._llm_amount(budget.limit)

    @api.depends("unit", "company_id")
    def _compute_price_warning(self):
        for budget in self:
            unpriced = budget.unit == "money" and self.env["llm.model"].sudo().search([
                ("use", "=", "chat"), ("provider_id.active", "=", True),
                ("company_id", "in", [budget.company_id.id, False]), ("price_missing", "=", True)])
            if not unpriced:
                budget.price_warning = False
                continue
            # The first few: a fetched list may hold dozens the catalogue does not know.
            names = ", ".join(unpriced[:5].mapped("display_name")) + ("…" if len(unpriced) > 5 else "")
            budget.price_warning = self.env._(
                "%(count)s models have no price (%(names)s): their use costs nothing in this "
                "budget; set their prices in LLM > Configuration > Models.",
                count=len(unpriced), names=names) if len(unpriced) > 1 else self.env._(
                "The model %s has no price: its use costs nothing in this budget; set its prices "
                "in LLM > Configuration > Models.", names)

    def _message_auto_subscribe_followers(self, updated_values, default_subtype_ids):
        # The budget's user is the one it counts, not its responsible: mail would make them a
        # follower and send them "you have been assigned" with a link to a record only LLM
        # managers may open.
        return []

    def _llm_consumed(self, now):
        """Tokens or money used by the budget's scope since the start of ``now``'s month."""
        self.ensure_one()
        domain = [("company_id", "=", self.company_id.id), ("date", ">=", month_start(now))]
        if self.scope == "user":
            domain.append(("user_id", "=", self.user_id.id))
        field = "total_tokens" if self.unit == "tokens" else "cost"
        [(total,)] = self.env["llm.usage"].sudo()._read_group(domain, [], [f"{field}:sum"])
        return total or 0

    def _llm_reserved(self, now, lock=False):
        """``{budget id: tokens or money reserved}`` by the calls in progress in the scopes of
        these budgets: only the reservations of generations still holding their claim (a live
        heartbeat), and of calls without a conversation whose process lives, so that a killed
        process's stop counting. ``lock``: in the
        same statement, take turns with the other checks of these budgets until this
        transaction ends; a write, not only a lock, so that a transaction whose snapshot
        predates another check's commit fails to serialize (a request is retried on it, in a
        new transaction that sees that check's reservation) instead of going on without
        seeing it."""
        self.env["llm.thread"].flush_model(["generation_token", "generation_heartbeat"])
        self.flush_model(["company_id", "scope", "user_id", "unit"])
        # A data-modifying WITH runs whether or not the query reads it.
        lock_rows = """
            WITH locked AS (
                UPDATE llm_budget SET id = id
                 WHERE id IN (SELECT id FROM llm_budget WHERE id IN %(ids)s ORDER BY id
                              FOR NO KEY UPDATE))""" if lock else ""
        self.env.cr.execute(lock_rows + """
            SELECT b.id, SUM(CASE WHEN b.unit = 'tokens' THEN r.total_tokens
                                  ELSE r.cost END)::float
              FROM llm_budget b
              JOIN llm_budget_reservation r
                ON r.company_id = b.company_id AND (b.scope = 'company' OR r.user_id = b.user_id)
         LEFT JOIN llm_thread t ON t.id = r.thread_id
             WHERE b.id IN %(ids)s
               AND CASE WHEN r.thread_id IS NULL
                        THEN EXISTS (SELECT 1 FROM pg_locks
                                      WHERE locktype = 'advisory' AND granted
                                        AND classid = %(liveness)s AND objid = r.owner
                                        AND objsubid = 2 AND database = (
                                            SELECT oid FROM pg_database
                                             WHERE datname = current_database()))
                        ELSE t.generation_token = r.token
                             AND t.generation_heartbeat > %(alive)s END
          GROUP BY b.id""", {"ids": tuple(self.ids), "alive": now - STALE_AFTER,
                             "liveness": LIVENESS_NAMESPACE},
                            log_exceptions=False)
        return dict(self.env.cr.fetchall())

    def _llm_amount(self, value):
        """``value`` as the chat's messages say it, in the user's language: whole tokens, or
        money in the currency's decimals (finer when small)."""
        # Values are formatted before the _() call: Babel's extractor evaluates the arguments
        # of a translated call, fails on one that calls a function and then drops every later
        # string of the file from the .pot.
        if self.unit == "tokens":
            tokens = formatLang(self.env, round(value), digits=0)
            return self.env._("%s tokens", tokens)
        currency = self.currency_id
        if not value or abs(value) >= currency.rounding:
            return formatLang(self.env, value, currency_obj=currency)
        # Two significant digits, not nothing: a call can cost a fraction of a cent.
        amount = formatLang(self.env, value, digits=1 - math.floor(math.log10(abs(value))))
        return (f"{amount}\N{NO-BREAK SPACE}{currency.symbol}" if currency.position == "after"
                else f"{currency.symbol}\N{NO-BREAK SPACE}{amount}")

    @api.model
    def _llm_check(self, model, input_tokens, output_tokens):
        """``_llm_check_call()`` without a reservation: whether a call would be refused now
        (the live chat asks before starting a run); ``(refusal, warning, answer_cap)``."""
        return self._llm_check_call(model, input_tokens, output_tokens)[:3]

    @api.model
    def _llm_check_call(self, model, input_tokens, output_tokens, claim=None, embedding=False,
                        history=True):
        """Check the budgets of the current user in the call's company (``llm.usage``'s
        ``_llm_company``) before a provider call that sends ``input_tokens`` (estimated) to
        ``model`` and may get ``output_tokens`` back (the answer reserve: the model's Max Output
        Tokens, else 1,024). ``claim``: ``(thread id, token)`` of the generation making the
        call (``(None, token)`` for a call without a conversation), which then reserves what it
        may cost under the hard budgets (see the module's docstring), the calls in progress
        reserving theirs counted as used. ``embedding``: the call embeds text (no answer), which
        a refusal says; ``history``: the prompt carries earlier messages, which a new
        conversation would not send (a refusal then says so).

        Returns ``(refusal, warning, answer_cap, reserved)``: the message refusing the call (a hard
        budget without room for the prompt and an answer of ``MIN_ANSWER_TOKENS``, or of the
        reserve when smaller), the warning to show the user (a budget 80% used or more), and
        the most output tokens the answer may have so that no hard budget is passed, never above
        the model's Max Output Tokens (None: no hard budget limits it, or, that limit unknown,
        not below ``UNKNOWN_OUTPUT_LIMIT``). Counting the answer before it is written keeps the
        last call of a month from passing a hard limit; and whether a reservation was made.
        """
        company = self.env["llm.usage"]._llm_company(model.provider_id)
        budgets = self._llm_budgets(company)
        if not budgets:
            return None, None, None, False
        hard = budgets.filtered("hard")
        now = fields.Datetime.now()
        # What the calls in progress may still cost counts as used for a hard budget.
        held = hard._llm_reserved(now, lock=bool(claim)) if hard else {}
        usage = self.env["llm.usage"]
        input_cost = usage._llm_cost(model, input_tokens, 0, company, now)
        output_token_cost = usage._llm_cost(model, 0, 1, company, now)
        shortest_answer = min(output_tokens, MIN_ANSWER_TOKENS)
        warnings, caps = [], []
        for budget in budgets:
            used = budget._llm_consumed(now)
            taken = used + held.get(budget.id, 0)
            if budget.unit == "tokens":
                needed = input_tokens + shortest_answer
                left_for_answer = budget.limit - taken - input_tokens
            else:
                needed = input_cost + shortest_answer * output_token_cost
                left_for_answer = (budget.limit - taken - input_cost) / output_token_cost \
                    if output_token_cost else None
            if budget.hard and taken + needed > budget.limit:
                if used >= WARNING_RATIO * budget.limit:
                    # One answer may take a budget from under 80% to spent: its managers
                    # still hear of it, when it starts refusing calls.
                    budget._llm_notify_managers(now, used)
                return budget._llm_refusal(taken, needed, embedding, history), None, None, False
            if budget.hard and left_for_answer is not None:
                caps.append(int(left_for_answer))
            if used >= WARNING_RATIO * budget.limit:
                warnings.append(budget._llm_warning(used))
                budget._llm_notify_managers(now, used)
        cap = min(caps, default=None)
        if cap is not None and model.max_output_tokens:
            cap = min(cap, model.max_output_tokens)
        elif cap is not None and cap >= UNKNOWN_OUTPUT_LIMIT:
            cap = None
        reserved = bool(claim and hard)
        if reserved:
            # The answer's cap when one is sent, else its reserve (what the budgets' limit
            # then cannot bound: see UNKNOWN_OUTPUT_LIMIT).
            answer = output_tokens if cap is None else cap
            self.env["llm.budget.reservation"]._llm_reserve(
                claim, company, input_tokens + answer, input_cost + answer * output_token_cost)
        return None, " ".join(warnings) or None, cap, reserved

    @api.model
    def _llm_budgets(self, company=None):
        """The active budgets counting the current user's calls in ``company`` (by default
        the current company)."""
        # active_test: the generation reads with archived records visible (an archived
        # assistant or tool of the conversation); an archived budget limits nothing.
        return self.sudo().with_context(active_test=True).search([
            ("company_id", "=", (company or self.env.company).id),
            "|", ("scope", "=", "company"), ("user_id", "=", self.env.uid)])

    @api.model
    def _llm_current_warning(self, company=None):
        """The warning the chat shows above the composer while a budget of the current user
        in ``company`` is 80% used or more (as the last answer's ``budget_warning`` said),
        or ''."""
        now = fields.Datetime.now()
        warnings = []
        for budget in self._llm_budgets(company):
            used = budget._llm_consumed(now)
            if used >= WARNING_RATIO * budget.limit:
                warnings.append(budget._llm_warning(used))
        return " ".join(warnings)

    def _llm_managers(self, company=None):
        """The LLM managers of ``company`` (the budget's by default): active internal users.
        Read in sudo: whoever meets a problem only a manager can fix is told whom to ask, the
        live chat agent's user too, which may not read groups."""
        company = company or self.company_id
        return self.env.ref("llm_thread.group_llm_manager").sudo().users.filtered(
            lambda manager: manager.active and company in manager.company_ids
            and not manager.share)

    def _llm_manager_names(self, company=None):
        """Whom a message tells to ask for a change only an LLM manager can make."""
        return (", ".join(self._llm_managers(company).mapped("name"))
                or self.env._("an administrator"))

    def _llm_refusal(self, used, needed, embedding=False, history=True):
        names = self._llm_manager_names()
        if used >= self.limit:
            # Spent: no question passes, a short one in a new conversation neither.
            return self.env._(
                "The monthly budget \"%(budget)s\" is spent: %(used)s of %(limit)s are used. An "
                "LLM manager (%(managers)s) can raise it in LLM > Configuration > Budgets; "
                "otherwise it renews on the first day of next month.",
                budget=self.name, used=self._llm_amount(used),
                limit=self._llm_amount(self.limit), managers=names)
        if embedding:
            return self.env._(
                "Embedding this text (to index a knowledge source, or to search one by meaning) "
                "would exceed the monthly budget \"%(budget)s\": %(used)s of %(limit)s are used, "
                "and it needs about %(needed)s. An LLM manager (%(managers)s) can raise the "
                "budget in LLM > Configuration > Budgets; otherwise it renews on the first day of "
                "next month.",
                budget=self.name, used=self._llm_amount(used),
                limit=self._llm_amount(self.limit), needed=self._llm_amount(needed),
                managers=names)
        if not history:
            # Nothing earlier is sent: a new conversation would need as much (the instructions,
            # the linked record and the tools' descriptions go with every question).
            return self.env._(
                "This request would exceed the monthly budget \"%(budget)s\": %(used)s of "
                "%(limit)s are used, and this question needs about %(needed)s with room for a "
                "short answer (the assistant's instructions, the linked record and the tools' "
                "descriptions are sent with every question). An LLM manager (%(managers)s) can "
                "raise the budget in LLM > Configuration > Budgets; otherwise it renews on the "
                "first day of next month.",
                budget=self.name, used=self._llm_amount(used), limit=self._llm_amount(self.limit),
                needed=self._llm_amount(needed), managers=names)
        return self.env._(
            "This request would exceed the monthly budget \"%(budget)s\": %(used)s of %(limit)s "
            "are used, and this question needs about %(needed)s with the conversation sent along "
            "and room for a short answer (a new conversation sends less). An LLM manager "
            "(%(managers)s) can raise the budget in LLM > Configuration > Budgets; otherwise it "
            "renews on the first day of next month.",
            budget=self.name, used=self._llm_amount(used), limit=self._llm_amount(self.limit),
            needed=self._llm_amount(needed), managers=names)

    def _llm_warning(self, used):
        return self.env._(
            "%(percent)s%% of the monthly budget \"%(budget)s\" is used (%(used)s of %(limit)s).",
            percent=min(999, round(100 * used / self.limit)), budget=self.name,
            used=self._llm_amount(used), limit=self._llm_amount(self.limit))

    def _llm_notify_managers(self, now, used):
        """Tell the company's LLM managers, once a budget and month, that it reached 80%."""
        month = now.strftime("%Y-%m")
        if self.notified_month == month:
            return
        # Only one of two simultaneous calls crossing the threshold sends the message.
        claimed = notify_once(self.env.cr, """UPDATE llm_budget SET notified_month = %s
                                              WHERE id = %s AND notified_month IS DISTINCT FROM %s
                                          RETURNING id""", (month, self.id, month))
        self.invalidate_recordset(["notified_month"])
        if not claimed:
            return
        # Queued, not sent at commit: the generation is waiting for this transaction.
        self.with_context(mail_notify_force_send=False).message_post(
            body=self.env._(
                "The monthly budget \"%(budget)s\" has reached %(percent)s%% (%(used)s of "
                "%(limit)s). Raise it in LLM > Configuration > Budgets if needed.",
                budget=self.name, percent=round(100 * used / self.limit),
                used=self._llm_amount(used), limit=self._llm_amount(self.limit)),
            partner_ids=self._llm_managers().partner_id.ids,
            author_id=self.env.ref("base.partner_root").id,
            message_type="notification",
            subtype_xmlid="mail.mt_comment",
        )


class LlmThreadBudget(models.Model):
    _inherit = "llm.thread"

    def llm_ui_load(self):
        # A reload shows the warning as the last answer left it: the budgets of the company
        # the conversation's calls count in (read once super() checked the owner).
        result = super().llm_ui_load()
        company = self.env["llm.usage"]._llm_company(self.provider_id)
        return dict(result, budget_warning=self.env["llm.budget"]._llm_current_warning(company))


class LlmBudgetReservation(models.Model):
    """What a call in progress may cost under hard budgets: counted by them as used until the
    call's usage line replaces it, and only while its generation holds its claim (a call without
    a conversation: while its process lives). One row a thread at most (a thread runs one call
    at a time); rows are written in plain SQL, on the way to the first delta."""

    _name = "llm.budget.reservation"
    _description = "LLM Budget Reservation"
    _log_access = False

    # Empty for a call without a conversation (Odoo's editor AI).
    thread_id = fields.Many2one("llm.thread", ondelete="cascade")
    # The claim's token (llm.thread.generation_token) of the generation that reserved, or the
    # call's own.
    token = fields.Char(required=True, index=True)
    # Without a conversation: the liveness key (engine.claim.Liveness) of the process making
    # the call.
    owner = fields.Integer()
    user_id = fields.Many2one("res.users", required=True, ondelete="cascade")
    company_id = fields.Many2one("res.company", required=True, ondelete="cascade")
    total_tokens = fields.Integer()
    cost = fields.Float(digits=(16, 6))

    _sql_constraints = [
        ("thread_unique", "UNIQUE(thread_id)", "A conversation reserves for one call at a time."),
    ]

    @api.model
    def _llm_reserve(self, claim, company, tokens, cost):
        """Reserve ``tokens`` and ``cost`` for the call of the generation ``claim`` (thread
        id, token), replacing what its thread reserved before (a killed process's leftover);
        or, thread id None, for a call without a conversation, while this process lives."""
        thread_id, token = claim
        owner = None if thread_id else Liveness.owner_key(self.env.registry)
        self.env.cr.execute("""
            INSERT INTO llm_budget_reservation
                   (thread_id, token, owner, user_id, company_id, total_tokens, cost)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (thread_id) DO UPDATE
               SET token = EXCLUDED.token, user_id = EXCLUDED.user_id,
                   company_id = EXCLUDED.company_id, total_tokens = EXCLUDED.total_tokens,
                   cost = EXCLUDED.cost""",
            (thread_id, token, owner, self.env.uid, company.id, math.ceil(tokens), cost))

    @api.model
    def _llm_release(self, token):
        """The call that reserved under the claim ``token`` ended: its usage line (if any)
        counts instead."""
        self.env.cr.execute("DELETE FROM llm_budget_reservation WHERE token = %s", (token,))
