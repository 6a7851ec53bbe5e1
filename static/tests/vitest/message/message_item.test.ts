import { describe, expect, test } from "vitest";

import type { MessageView } from "../../../src/ts/conversation/types";
import { MessageItem } from "../../../src/ts/message/message_item";
import { fakeAction } from "../fake_backend";
import { mountComponent } from "../helpers";

const env = { services: { action: fakeAction } };

function message(values: Partial<MessageView> = {}): MessageView {
    return {
        id: 2, role: "assistant", text: "Answer", reasoning: "", reasoningSeconds: null,
        reasoningStartedAt: null, toolCalls: [], usage: null, error: "", stopped: false, done: true,
        ...values,
    };
}

describe("MessageItem", () => {
    test("a user message is plain text, never markup", async () => {
        const fixture = await mountComponent(MessageItem, { message: message({ role: "user", text: "<b>hi</b>" }) }, env);
        expect(fixture.querySelector(".o_llm_user_bubble")?.textContent).toBe("<b>hi</b>");
        expect(fixture.querySelector("b")).toBeNull();
    });

    test("reasoning is collapsed with its duration", async () => {
        const fixture = await mountComponent(MessageItem, { message: message({ reasoning: "Because", reasoningSeconds: 4 }) }, env);
        const details = fixture.querySelector("details.o_llm_reasoning") as HTMLDetailsElement;
        expect(details.open).toBe(false);
        expect(details.querySelector("summary")?.textContent).toBe("Thought for 4 s");
    });

    test("tool cards: name, arguments, state, collapsible result, record links", async () => {
        const fixture = await mountComponent(MessageItem, {
            message: message({
                toolCalls: [
                    {
                        callId: "c1", name: "read_record", arguments: { model: "res.partner", id: 7 },
                        status: "done", result: '{"name":"Azure"}', error: "",
                        records: [{ model: "res.partner", id: 7, label: "Azure Interior" }],
                    },
                    { callId: "c2", name: "search_records", arguments: {}, status: "running", result: "", error: "", records: [] },
                ],
            }),
        }, env);
        const [done, running] = fixture.querySelectorAll(".o_llm_tool_call");
        expect(done!.querySelector(".o_llm_tool_name")?.textContent).toBe("read_record");
        expect(done!.querySelector(".o_llm_tool_args")?.textContent).toContain("model:res.partner");
        expect(done!.querySelector(".o_llm_tool_status")?.textContent?.trim()).toBe("Done");
        expect((done!.querySelector(".o_llm_tool_result") as HTMLDetailsElement).open).toBe(false);
        expect(done!.querySelector(".o_llm_tool_result pre")?.textContent).toBe('{\n  "name": "Azure"\n}');
        const link = done!.querySelector<HTMLAnchorElement>(".o_llm_tool_records a")!;
        expect(link.getAttribute("href")).toBe("/odoo/res.partner/7");
        fakeAction.actions = [];
        link.click();
        expect(fakeAction.actions).toHaveLength(1);
        expect(running!.querySelector(".o_llm_tool_status")?.textContent?.trim()).toBe("Running…");
    });

    test("usage, stopped, and an error with Retry", async () => {
        let retried = 0;
        const fixture = await mountComponent(MessageItem, {
            message: message({
                usage: { input: 1200, output: 34, estimated: false, cost: null, currency: "", model: "" },
                stopped: true,
                error: "Rate limited",
            }),
            onRetry: () => retried++,
        }, env);
        expect(fixture.querySelector(".o_llm_usage")?.textContent).toBe(`${(1200).toLocaleString()} tokens in, 34 out`);
        expect(fixture.querySelector(".o_llm_cost")).toBeNull();
        expect(fixture.querySelector(".o_llm_answer_model")).toBeNull();
        expect(fixture.querySelector(".o_llm_stopped")?.textContent).toBe("Stopped");
        expect(fixture.querySelector(".o_llm_message_error [role], .o_llm_message_error")?.getAttribute("role")).toBe("alert");
        (fixture.querySelector(".o_llm_retry") as HTMLButtonElement).click();
        expect(retried).toBe(1);
    });
});
