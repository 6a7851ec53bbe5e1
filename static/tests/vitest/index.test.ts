import { registry } from "@web/core/registry";
import { expect, test } from "vitest";

import { ChatApp } from "../../src/ts/index";

test("the entry point registers the chat client action under its tag", () => {
    expect(registry.category("actions").get("llm_thread.chat")).toBe(ChatApp);
});
