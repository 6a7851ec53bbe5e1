import { describe, expect, test } from "vitest";

import type { MessageView, ToolCallView } from "../../../src/ts/conversation/types";
import { MessageItem } from "../../../src/ts/message/message_item";
import { fakeAction, messageView } from "../fake_backend";
import { mountComponent } from "../helpers";

const env = { services: { action: fakeAction } };

function message(values: Partial<MessageView> = {}): MessageView {
    return messageView({ id: 2, ...values });
}

/** A call of update_record the user denied; `values` override. */
function deniedCall(values: Partial<ToolCallView> = {}): ToolCallView {
    return {
        callId: "w1", name: "update_record", arguments: {}, status: "running", result: "",
        error: "", records: [], textOffset: 0,
        approval: { state: "denied", preview: { tool: "update_record", risk: "write", model: "", records: [], changes: [] } },
        ...values,
    };
}

describe("MessageItem", () => {
    test("a user message is plain text, never markup", async () => {
        const fixture = await mountComponent(MessageItem, { message: message({ role: "user", text: "<b>hi</b>" }) }, env);
        expect(fixture.querySelector(".o_llm_user_bubble")?.textContent).toBe("<b>hi</b>");
        expect(fixture.querySelector("b")).toBeNull();
    });

    test("a question's images show as thumbnails opening them, its files as chips downloading them", async () => {
        const fixture = await mountComponent(MessageItem, {
            message: message({
                role: "user",
                text: "What is in these?",
                attachments: [
                    { id: 7, name: "photo.png", mimetype: "image/png" },
                    { id: 8, name: "report.pdf", mimetype: "application/pdf" },
                ],
            }),
        }, env);
        const image = fixture.querySelector<HTMLAnchorElement>(".o_llm_message_attachments .o_llm_message_image")!;
        expect(image.getAttribute("href")).toBe("/web/content/7");
        expect(image.querySelector("img")!.getAttribute("src")).toBe("/web/image/7/160x160");
        expect(image.querySelector("img")!.alt).toBe("photo.png");
        const chip = fixture.querySelector<HTMLAnchorElement>(".o_llm_message_file")!;
        expect(chip.getAttribute("href")).toBe("/web/content/8?download=true");
        expect(chip.textContent).toBe("report.pdf");
    });

    test("a question of files alone shows them without an empty bubble", async () => {
        const fixture = await mountComponent(MessageItem, {
            message: message({ role: "user", text: "", attachments: [{ id: 7, name: "photo.png", mimetype: "image/png" }] }),
        }, env);
        expect(fixture.querySelector(".o_llm_user_bubble")).toBeNull();
        expect(fixture.querySelector(".o_llm_message_image img")!.getAttribute("alt")).toBe("photo.png");
    });

    test("a refusal is marked, a cut answer says so, an error folds the provider's words", async () => {
        const refusal = await mountComponent(MessageItem, { message: message({ text: "I can't.", finishReason: "refusal" }) }, env);
        expect(refusal.querySelector(".o_llm_refusal .o_llm_refusal_note")?.textContent).toBe("The model refused");
        expect(refusal.querySelector(".o_llm_cut_note")).toBeNull();
        const cut = await mountComponent(MessageItem, { message: message({ text: "Once upon", finishReason: "length" }) }, env);
        expect(cut.querySelector(".o_llm_cut_note")?.textContent?.trim()).toBe("Cut: the answer reached the token limit.");
        expect(cut.querySelector(".o_llm_refusal, .o_llm_refusal_note")).toBeNull();
        const failed = await mountComponent(MessageItem, {
            message: message({ text: "", finishReason: "error", error: "Key rejected.", errorDetail: "Incorrect API key provided." }),
        }, env);
        const alert = failed.querySelector(".o_llm_message_error")!;
        expect(alert.querySelector("span")?.textContent).toBe("Key rejected.");
        const detail = alert.querySelector("details.o_llm_error_detail") as HTMLDetailsElement;
        expect(detail.open).toBe(false);
        expect(detail.textContent).toContain("Incorrect API key provided.");
        const plain = await mountComponent(MessageItem, { message: message({ error: "Failed." }) }, env);
        expect(plain.querySelector(".o_llm_error_detail")).toBeNull();
    });

    test("an interrupted answer says so, apart from a stopped one, and offers Retry", async () => {
        let retried = 0;
        const fixture = await mountComponent(MessageItem, {
            message: message({ interrupted: true }), onRetry: () => retried++,
        }, env);
        expect(fixture.querySelector(".o_llm_interrupted")?.textContent).toBe("Interrupted");
        expect(fixture.querySelector(".o_llm_stopped")).toBeNull();
        fixture.querySelector<HTMLButtonElement>(".o_llm_retry")!.click();
        expect(retried).toBe(1);
    });

    test("cited knowledge passages are numbered chips opening their source, quoting on hover", async () => {
        const fixture = await mountComponent(MessageItem, {
            message: message({
                text: "Refunds take a week [2].",
                citations: [{ n: 2, label: "policy.pdf, page 3", url: "/web/content/5#page=3", quote: "Refunds are paid within seven days." }],
            }),
        }, env);
        const chip = fixture.querySelector<HTMLAnchorElement>(".o_llm_citations a.o_llm_citation")!;
        expect(chip.querySelector(".o_llm_citation_number")?.textContent).toBe("2");
        expect(chip.textContent).toContain("policy.pdf, page 3");
        expect(chip.getAttribute("href")).toBe("/web/content/5#page=3");
        expect(chip.getAttribute("title")).toBe("Refunds are paid within seven days.");
        expect(chip.getAttribute("target")).toBe("_blank");
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
                        records: [{ model: "res.partner", id: 7, label: "Azure Interior", changed: false }], approval: null,
                        textOffset: 0,
                    },
                    { callId: "c2", name: "search_records", arguments: {}, status: "running", result: "", error: "", records: [], approval: null, textOffset: 0 },
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
        expect(link.textContent).toBe("Azure Interior");
        expect(link.getAttribute("href")).toBe("/odoo/res.partner/7");
        fakeAction.actions = [];
        link.click();
        expect(fakeAction.actions).toHaveLength(1);
        expect(running!.querySelector(".o_llm_tool_status")?.textContent?.trim()).toBe("Running…");
    });

    test("a call waiting for approval previews its changes and offers Approve and Deny", async () => {
        const decisions: [string, boolean][] = [];
        const waiting = {
            callId: "w1", name: "update_record", arguments: { model: "res.partner", id: 7 },
            status: "approval" as const, result: "", error: "", records: [], textOffset: 0,
            approval: {
                state: "pending" as const,
                preview: {
                    tool: "update_record", risk: "write", model: "Contact", records: ["Azure Interior"],
                    changes: [{ field: "City", old: "Namur", new: "Liège" }, { field: "Phone", old: "", new: "+32" }],
                },
            },
        };
        const fixture = await mountComponent(MessageItem, {
            message: message({ toolCalls: [waiting] }),
            onDecide: (callId: string, approved: boolean) => decisions.push([callId, approved]),
        }, env);
        const card = fixture.querySelector(".o_llm_tool_call")!;
        expect(card.querySelector(".o_llm_tool_status")?.textContent?.trim()).toBe("Waiting for approval");
        expect(card.querySelector(".o_llm_approval_target")?.textContent).toContain("Contact");
        expect(card.querySelector(".o_llm_approval_target")?.textContent).toContain("Azure Interior");
        expect([...card.querySelectorAll(".o_llm_approval_target bdi")].map((bdi) => bdi.textContent)).toEqual(["Contact", "Azure Interior"]);
        // The comparison comes first; the raw arguments are folded below it.
        const args = card.querySelector("details.o_llm_tool_args") as HTMLDetailsElement;
        expect(args.open).toBe(false);
        expect(JSON.parse(args.querySelector("pre")!.textContent!)).toEqual({ model: "res.partner", id: 7 });
        expect(card.querySelector(".o_llm_approval_changes")!.compareDocumentPosition(args)).toBe(Node.DOCUMENT_POSITION_FOLLOWING);
        expect(card.querySelector("dl.o_llm_tool_args")).toBeNull();
        const [city, phone] = card.querySelectorAll(".o_llm_approval_changes li");
        expect(city!.querySelector("del")?.textContent).toBe("Namur");
        expect(city!.querySelector("ins")?.textContent).toBe("Liège");
        expect(phone!.querySelector("del")?.textContent).toBe("∅");
        // Each value isolated, old before new: a right-to-left language reads them in its order.
        expect([...city!.querySelectorAll("bdi")].map((bdi) => bdi.textContent)).toEqual(["City", "Namur", "Liège"]);
        expect([...city!.children].map((child) => child.tagName)).toEqual(["SPAN", "DEL", "I", "INS"]);
        (card.querySelector(".o_llm_tool_approve") as HTMLButtonElement).click();
        (card.querySelector(".o_llm_tool_deny") as HTMLButtonElement).click();
        expect(decisions).toEqual([["w1", true], ["w1", false]]);
    });

    test("a decided call shows the decision, and no buttons without onDecide", async () => {
        const fixture = await mountComponent(MessageItem, { message: message({ toolCalls: [deniedCall()] }) }, env);
        expect(fixture.querySelector(".o_llm_approval_decision")?.textContent).toBe("Denied");
        expect(fixture.querySelector(".o_llm_tool_approve")).toBeNull();
    });

    test("a denied call reads Denied, in a neutral badge, not as an error", async () => {
        const call = deniedCall({ status: "error", error: "The user denied this action." });
        const fixture = await mountComponent(MessageItem, { message: message({ toolCalls: [call] }) }, env);
        const card = fixture.querySelector(".o_llm_tool_call")!;
        const badge = card.querySelector(".o_llm_tool_status")!;
        expect(badge.textContent?.trim()).toBe("Denied");
        expect(badge.classList.contains("text-bg-danger")).toBe(false);
        expect(badge.classList.contains("text-bg-secondary")).toBe(true);
        expect(card.getAttribute("data-status")).toBe("denied");
        expect(card.querySelector(".o_llm_tool_error")).toBeNull();
    });

    test("the text written before a call is shown above its card, the rest below", async () => {
        const call = {
            callId: "w1", name: "update_record", arguments: {}, status: "done" as const, result: "{}",
            error: "", records: [], approval: null, textOffset: "I will update it.".length,
        };
        const fixture = await mountComponent(MessageItem, {
            message: message({ text: "I will update it.\n\nIt is done.", toolCalls: [call] }),
        }, env);
        const order = [...fixture.querySelectorAll(".o_llm_markdown, .o_llm_tool_call")].map((el) =>
            el.classList.contains("o_llm_tool_call") ? "card" : el.textContent!.trim(),
        );
        expect(order).toEqual(["I will update it.", "card", "It is done."]);
    });

    test("usage, stopped, and an error with Retry", async () => {
        let retried = 0;
        const fixture = await mountComponent(MessageItem, {
            message: message({
                usage: { input: 1200, output: 34, estimated: false, cost: null, currency: "", model: "", provider: "" },
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
