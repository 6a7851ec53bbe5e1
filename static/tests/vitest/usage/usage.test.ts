import { afterEach, describe, expect, test } from "vitest";

import { localization } from "@web/core/l10n/localization";
import { user } from "@web/core/user";

import { formatCost, tokensLabel, totalUsage, usageFrom } from "../../../src/ts/usage/usage";

const usage = (input: number, output: number, cost: number | null, currency = "USD", estimated = false, model = "", provider = "") => ({
    input, output, cost, currency, estimated, model, provider,
});

const english = { ...localization };

/** A French user's settings (res.lang fr_FR: "," and a no-break space), in any browser. */
function speakFrench() {
    Object.assign(localization, { decimalPoint: ",", thousandsSep: "\u00a0", code: "fr_FR" });
    Object.assign(user, { lang: "fr-FR" });
}

describe("usage", () => {
    afterEach(() => {
        Object.assign(localization, english);
        Object.assign(user, { lang: "en-US" });
    });

    test("reads stored usage and the usage event alike", () => {
        expect(usageFrom(undefined)).toBeNull();
        expect(usageFrom({ input_tokens: 9, output_tokens: 3, cost: 0.5, currency: "EUR" })).toEqual(usage(9, 3, 0.5, "EUR"));
        expect(usageFrom({ message_id: 4, input_tokens: 9, output_tokens: 3, estimated: true, cost: 0, currency: "USD", model: "Fast", provider: "OpenAI" }))
            .toEqual(usage(9, 3, 0, "USD", true, "Fast", "OpenAI"));
        // An answer stored before costs were recorded.
        expect(usageFrom({ input_tokens: 1, output_tokens: 2 })).toEqual(usage(1, 2, null, ""));
    });

    test("estimated tokens are said to be", () => {
        expect(tokensLabel(usage(1200, 34, null))).toBe("1,200 tokens in, 34 out");
        expect(tokensLabel(usage(5, 6, null, "USD", true))).toBe("about 5 tokens in, 6 out (estimated)");
    });

    test("fractions of a cent keep two significant digits; larger costs the currency's decimals", () => {
        expect(formatCost(0.000123, "USD")).toBe("$0.00012");
        expect(formatCost(1234.5, "USD")).toBe("$1,234.50");
        expect(formatCost(0.5, "NOTACODE")).toBe("0.50 NOTACODE");
    });

    test("numbers are in the Odoo user's language, not the browser's", () => {
        speakFrench();
        expect(tokensLabel(usage(263131, 1200, null))).toBe("263\u00a0131 tokens in, 1\u00a0200 out");
        // Intl places the sign for fr-FR; the separators are the user's language settings.
        expect(formatCost(1234.5, "EUR")).toBe("1\u00a0234,50\u00a0€");
        expect(formatCost(0.000123, "EUR")).toBe("0,00012\u00a0€");
        expect(formatCost(1234.5, "NOTACODE")).toBe("1\u00a0234,50 NOTACODE");
        // A language Intl does not know: the browser's, still with the user's separators.
        Object.assign(user, { lang: "not a locale" });
        expect(formatCost(0.000123, "NOTACODE")).toBe("0,00012 NOTACODE");
    });

    test("a conversation's total adds tokens, and costs only in one currency", () => {
        expect(totalUsage([null])).toBeNull();
        expect(totalUsage([usage(1, 2, 0.25), null, usage(3, 4, 0.5, "USD", true)])).toEqual(usage(4, 6, 0.75, "USD", true));
        expect(totalUsage([usage(1, 2, 0.25), usage(3, 4, 0.5, "EUR")])!.cost).toBeNull();
        expect(totalUsage([usage(1, 2, 0.25), usage(3, 4, null)])!.cost).toBeNull();
        // One model named only when every answer came from it.
        expect(totalUsage([usage(1, 2, 0.25, "USD", false, "Fast"), usage(3, 4, 0.5, "USD", false, "Fast")])!.model).toBe("Fast");
        expect(totalUsage([usage(1, 2, 0.25, "USD", false, "Fast"), usage(3, 4, 0.5, "USD", false, "Smart")])!.model).toBe("");
        expect(totalUsage([usage(1, 2, 0.25, "USD", false, "Fast", "OpenAI"), usage(3, 4, 0.5, "USD", false, "Fast", "Local")])!.model).toBe("");
    });
});
