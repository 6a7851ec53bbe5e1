import { describe, expect, test } from "vitest";

import { groupByRecency } from "../../../src/ts/thread_list/recency";
import { ThreadList, type ThreadListProps } from "../../../src/ts/thread_list/thread_list";
import { nextRender, thread } from "../fake_backend";
import { mountComponent } from "../helpers";

describe("groupByRecency", () => {
    test("today, yesterday, last 7 and 30 days, older", () => {
        const now = new Date(2026, 0, 20, 15, 0, 0);
        const at = (days: number) => {
            const date = new Date(now.getTime() - days * 24 * 3600 * 1000);
            return date.toISOString().replace("T", " ").slice(0, 19);
        };
        const groups = groupByRecency([0, 1, 3, 20, 100].map((d) => ({ d, date: at(d) })), (i) => i.date, now);
        expect(groups.map((g) => [g.label, g.items.map((i) => i.d)])).toEqual([
            ["Today", [0]],
            ["Yesterday", [1]],
            ["Previous 7 days", [3]],
            ["Previous 30 days", [20]],
            ["Older", [100]],
        ]);
    });
});

describe("ThreadList", () => {
    function setup(values: Partial<ThreadListProps> = {}) {
        const calls: unknown[][] = [];
        const props: ThreadListProps = {
            threads: [thread({ id: 1, name: "Alpha" }), thread({ id: 2, name: "Beta", record_name: "Azure" })],
            activeId: 1,
            search: "",
            onSearch: (s) => calls.push(["search", s]),
            automations: false,
            onAutomations: (on) => calls.push(["automations", on]),
            onOpen: (id) => calls.push(["open", id]),
            onNew: () => calls.push(["new"]),
            onRename: (id, name) => calls.push(["rename", id, name]),
            onDelete: (id) => calls.push(["delete", id]),
            ...values,
        };
        return { calls, props };
    }

    test("lists threads with the open one marked, and the linked record", async () => {
        const { calls, props } = setup();
        const fixture = await mountComponent(ThreadList, props);
        const items = fixture.querySelectorAll(".o_llm_thread_open");
        expect(items[0]!.getAttribute("aria-current")).toBe("true");
        expect(items[1]!.textContent).toContain("Azure");
        (items[1] as HTMLButtonElement).click();
        (fixture.querySelector(".o_llm_new_conversation") as HTMLButtonElement).click();
        const search = fixture.querySelector<HTMLInputElement>(".o_llm_thread_search")!;
        search.value = "Be";
        search.dispatchEvent(new InputEvent("input"));
        expect(calls).toEqual([["open", 2], ["new"], ["search", "Be"]]);
    });

    test("delete is not offered while the conversation writes an answer, and says why", async () => {
        const { calls, props } = setup({
            threads: [thread({ id: 1, name: "Alpha", generation_state: "generating" }), thread({ id: 2, name: "Beta" })],
        });
        const fixture = await mountComponent(ThreadList, props);
        const [busy, idle] = [...fixture.querySelectorAll<HTMLButtonElement>(".o_llm_thread_delete")];
        expect([busy!.disabled, busy!.title]).toEqual([
            true, "An answer is being written: stop it to delete the conversation.",
        ]);
        busy!.click();
        await nextRender();
        expect(fixture.querySelector(".o_llm_thread_delete_confirm")).toBeNull();
        expect([idle!.disabled, idle!.title]).toEqual([false, "Delete"]);
        idle!.click();
        await nextRender();
        (fixture.querySelector(".o_llm_thread_delete_confirm") as HTMLButtonElement).click();
        expect(calls).toEqual([["delete", 2]]);
    });

    test("rename in place: the name is focused and selected, Enter saves, Escape cancels", async () => {
        const { calls, props } = setup();
        const fixture = await mountComponent(ThreadList, props);
        (fixture.querySelector(".o_llm_thread_rename_button") as HTMLButtonElement).click();
        await nextRender();
        const input = fixture.querySelector<HTMLInputElement>(".o_llm_thread_rename")!;
        expect(document.activeElement).toBe(input);
        expect([input.selectionStart, input.selectionEnd]).toEqual([0, input.value.length]);
        input.value = "Renamed";
        input.dispatchEvent(new InputEvent("input"));
        input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
        await nextRender();
        expect(calls).toEqual([["rename", 1, "Renamed"]]);
        (fixture.querySelector(".o_llm_thread_rename_button") as HTMLButtonElement).click();
        await nextRender();
        fixture.querySelector(".o_llm_thread_rename")!.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }));
        await nextRender();
        expect(fixture.querySelector(".o_llm_thread_rename")).toBeNull();
        expect(calls).toHaveLength(1);
    });

    test("delete asks first", async () => {
        const { calls, props } = setup();
        const fixture = await mountComponent(ThreadList, props);
        (fixture.querySelectorAll(".o_llm_thread_delete")[1] as HTMLButtonElement).click();
        await nextRender();
        expect(calls).toEqual([]);
        (fixture.querySelector(".o_llm_thread_delete_confirm") as HTMLButtonElement).click();
        expect(calls).toEqual([["delete", 2]]);
    });

    test("an empty search says nothing matches", async () => {
        const { props } = setup({ threads: [], search: "zzz" });
        const fixture = await mountComponent(ThreadList, props);
        expect(fixture.querySelector(".o_llm_thread_list_empty")?.textContent?.trim()).toBe("No conversation matches.");
    });
});
