import { registry } from "@web/core/registry";
import { session } from "@web/session";
import { expect, test } from "vitest";

import { ChatApp } from "../../src/ts/index";
import { formatCost } from "../../src/ts/usage/usage";

test("the entry point registers the chat client action under its tag", () => {
    expect(registry.category("actions").get("llm_thread.chat")).toBe(ChatApp);
});

test("the usage report's cost cells are in the company's currency, sub-cent sums readable", () => {
    const format = registry.category("formatters").get("llm_cost");
    session.llm_currency = "EUR";
    expect(format(12.5)).toBe(formatCost(12.5, "EUR"));
    expect(format(0.000423)).toBe(formatCost(0.000423, "EUR"));
    expect(format(0.000423)).toMatch(/0[.,]00042/);
    expect(format(0.000423)).toContain("€");
    expect(format(false)).toBe("");
    // The user's companies keep several currencies: a sum of their lines has none.
    session.llm_currency = "";
    expect(format(1.58)).toBe("1.58");
});
