// Token usage and cost of answers, as the server stores them (body_json.usage, see
// engine/generation.py) and streams them (the "usage" event), and their labels.
import { localization } from "@web/core/l10n/localization";
import { user } from "@web/core/user";
import { formatFloat } from "@web/core/utils/numbers";
import { _t } from "../core/l10n";

export interface UsageView {
    input: number;
    output: number;
    /** The provider sent no counts: the tokens are estimated from the text. */
    estimated: boolean;
    /** In `currency` (the company's, ISO code); null when the server recorded no cost. */
    cost: number | null;
    currency: string;
    /** The name of the model that answered, and of its provider; "" when not recorded. */
    model: string;
    provider: string;
}

/** Reads a stored `body_json.usage` or a "usage" event payload; null when there is none. */
export function usageFrom(data: Record<string, unknown> | null | undefined): UsageView | null {
    if (!data) {
        return null;
    }
    const { input_tokens, output_tokens, estimated, cost, currency, model, provider } = data;
    return {
        input: typeof input_tokens === "number" ? input_tokens : 0,
        output: typeof output_tokens === "number" ? output_tokens : 0,
        estimated: Boolean(estimated),
        cost: typeof cost === "number" ? cost : null,
        currency: typeof currency === "string" ? currency : "",
        model: typeof model === "string" ? model : "",
        provider: typeof provider === "string" ? provider : "",
    };
}

/** A token count as Odoo shows numbers to the user: the separators of their language. */
export function formatTokens(tokens: number): string {
    return formatFloat(tokens, { digits: [0, 0] });
}

export function tokensLabel(usage: UsageView): string {
    const label = usage.estimated
        ? _t("about %(input)s tokens in, %(output)s out (estimated)")
        : _t("%(input)s tokens in, %(output)s out");
    return label
        .replace("%(input)s", formatTokens(usage.input))
        .replace("%(output)s", formatTokens(usage.output));
}

/** The Odoo user's language as Intl takes it; the browser's when Intl does not know it. */
function userLocale(): string | undefined {
    try {
        return Intl.getCanonicalLocales(user.lang)[0];
    } catch {
        return undefined;
    }
}

/** `amount` by Intl in the user's language, with the separators of its Odoo settings, as
 * Odoo's own fields show numbers. */
function formatNumber(amount: number, options: Intl.NumberFormatOptions): string {
    return new Intl.NumberFormat(userLocale(), options)
        .formatToParts(amount)
        .map((part) =>
            part.type === "group"
                ? localization.thousandsSep
                : part.type === "decimal"
                  ? localization.decimalPoint
                  : part.value,
        )
        .join("");
}

/**
 * A cost in its currency. One answer often costs a fraction of a cent, which the currency's
 * two decimals would show as 0.00: below 1, two significant digits are kept instead. The
 * currency sign goes where the user's language puts it.
 */
export function formatCost(amount: number, currency: string): string {
    const small = Math.abs(amount) < 1 && amount !== 0;
    try {
        return formatNumber(amount, small
            ? { style: "currency", currency, maximumSignificantDigits: 2 }
            : { style: "currency", currency });
    } catch {
        // Not an ISO 4217 code Intl knows: the amount and the code as they are; no code (a
        // sum over several currencies) the amount alone.
        const digits: Intl.NumberFormatOptions = small
            ? { minimumSignificantDigits: 2, maximumSignificantDigits: 2 }
            : { minimumFractionDigits: 2, maximumFractionDigits: 2 };
        const number = formatNumber(amount, digits);
        return currency ? `${number} ${currency}` : number;
    }
}

/** The sum over a conversation's answers; costs add up only when they share a currency. */
export function totalUsage(usages: (UsageView | null)[]): UsageView | null {
    let total: UsageView | null = null;
    for (const usage of usages) {
        if (!usage) {
            continue;
        }
        if (!total) {
            total = { ...usage };
            continue;
        }
        total.input += usage.input;
        total.output += usage.output;
        total.estimated ||= usage.estimated;
        if (total.model !== usage.model || total.provider !== usage.provider) {
            total.model = "";
            total.provider = "";
        }
        if (total.cost === null || usage.cost === null || total.currency !== usage.currency) {
            total.cost = null;
        } else {
            total.cost += usage.cost;
        }
    }
    return total;
}
