import { Component, useExternalListener, useRef, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

import { _t } from "../core/l10n";
import { openRecord, recordUrl, type ActionService } from "../core/records";
import type { ChatController } from "../conversation/chat_controller";
import type { ChatBackend } from "../core/transport";
import { modelLabel } from "../conversation/model_label";
import type { ModelOption } from "../conversation/types";
import { RecordPicker } from "../record_picker/record_picker";

/** The value of the picker's "Auto" option (model ids are numbers). */
const AUTO = "auto";

export interface ThreadHeaderProps {
    controller: ChatController;
    backend: ChatBackend;
    /** The chatter panel is narrow: no record chip (the record is the one on screen). */
    compact?: boolean;
    /** On a phone, back to the conversation list (shown instead of the conversation). */
    onBack?: () => void;
}

/**
 * Above the conversation: the assistant picker, the model picker (fixed when the assistant
 * sets the model), the tools and knowledge sources pickers and the linked-record chip.
 */
export class ThreadHeader extends Component<ThreadHeaderProps> {
    static template = "llm_thread.ThreadHeader";
    static components = { RecordPicker };
    static props = {
        controller: Object,
        backend: Object,
        compact: { type: Boolean, optional: true },
        onBack: { type: Function, optional: true },
    };

    declare controller: ChatController;
    declare action: ActionService;
    /** `menu`: the open dropdown, if any. */
    declare state: { menu: "tools" | "sources" | null; picking: boolean };

    setup(): void {
        this.controller = useState(this.props.controller);
        this.action = useService("action");
        this.state = useState({ menu: null, picking: false });
        // The tools and sources menus close like dropdowns: a click elsewhere or Escape (which
        // then does nothing else: on the document, before the conversation's Esc-stops on the
        // window).
        const pickers = { tools: useRef("tools"), sources: useRef("sources") };
        useExternalListener(window, "click", (ev: Event) => {
            const menu = this.state.menu;
            if (menu && !pickers[menu].el?.contains(ev.target as Node)) {
                this.state.menu = null;
            }
        });
        useExternalListener(document, "keydown", (ev: Event) => {
            const menu = this.state.menu;
            if ((ev as KeyboardEvent).key === "Escape" && menu) {
                ev.preventDefault();
                this.state.menu = null;
                // Back on the menu's button, as a dropdown does: not lost to the page.
                pickers[menu].el?.querySelector<HTMLButtonElement>("button")?.focus();
            }
        });
    }

    get thread() {
        return this.controller.conversation.thread;
    }

    /** Active chat models grouped by provider, as the server lists them. */
    get providers(): { id: number; name: string; models: ModelOption[] }[] {
        const groups = new Map<number, { id: number; name: string; models: ModelOption[] }>();
        for (const model of this.controller.options.models) {
            let group = groups.get(model.provider_id);
            if (!group) {
                group = { id: model.provider_id, name: model.provider_name, models: [] };
                groups.set(model.provider_id, group);
            }
            group.models.push(model);
        }
        return [...groups.values()];
    }

    /** Whether the Auto option's "cheapest" rests on prices: "all" models have none (it
     * then takes the first that fits), "some" (those count as free and come first), "none". */
    get autoUnpriced(): "all" | "some" | "none" {
        const missing = this.controller.options.models.filter((model) => model.price_missing).length;
        if (!missing) {
            return "none";
        }
        return missing === this.controller.options.models.length ? "all" : "some";
    }

    /** The closed picker shows the chosen option's text alone, without its group. */
    modelLabel(model: ModelOption): string {
        return modelLabel(model.name, model.provider_name, this.controller.options.models);
    }

    get recordUrl(): string {
        const thread = this.thread;
        return thread?.res_model && thread.res_id
            ? recordUrl(thread.res_model, thread.res_id)
            : "";
    }

    onAssistantChange(ev: Event): void {
        const value = (ev.target as HTMLSelectElement).value;
        void this.controller.setAssistant(value ? Number(value) : false);
    }

    /** The assistant sets the model: the model picker shows it and cannot change it. */
    get modelFixed(): boolean {
        const assistant = this.controller.assistant;
        return Boolean(assistant && (assistant.model_id || assistant.auto_model));
    }

    onModelChange(ev: Event): void {
        const value = (ev.target as HTMLSelectElement).value;
        void (value === AUTO
            ? this.controller.setAutoModel()
            : this.controller.setModel(Number(value)));
    }

    /** The conversation's own model is no longer one the user may pick (archived, its
     * provider archived, another company's): shown as such, not as the list's first entry. */
    get unavailableModel(): boolean {
        const thread = this.thread;
        return Boolean(
            thread && !thread.auto_model && thread.model_id &&
                !this.controller.options.models.some((option) => option.id === thread.model_id),
        );
    }

    unavailableText(name: string): string {
        return _t("%s (unavailable)").replace("%s", name);
    }

    /** The conversation's model, when it is not marked Tools: the server sends it none. */
    get modelWithoutTools(): ModelOption | undefined {
        const thread = this.thread;
        const model = thread && !thread.auto_model
            ? this.controller.options.models.find((option) => option.id === thread.model_id)
            : undefined;
        return model && !model.supports_tools ? model : undefined;
    }

    get toolsOffText(): string {
        return _t(
            "%s is not marked as calling tools: it is asked without them. An LLM manager can mark it in LLM > Configuration > Models.",
        ).replace("%s", this.modelWithoutTools ? this.modelLabel(this.modelWithoutTools) : "");
    }

    toolEnabled(name: string): boolean {
        return Boolean(this.thread?.tool_names.includes(name));
    }

    toggleTool(name: string): void {
        const current = this.thread?.tool_names ?? [];
        const next = current.includes(name)
            ? current.filter((tool) => tool !== name)
            : [...current, name].sort();
        void this.controller.setTools(next);
    }

    toggleMenu(menu: "tools" | "sources"): void {
        this.state.menu = this.state.menu === menu ? null : menu;
    }

    sourceChosen(id: number): boolean {
        return Boolean(this.thread?.knowledge_source_ids?.includes(id));
    }

    toggleSource(id: number): void {
        const current = this.thread?.knowledge_source_ids ?? [];
        void this.controller.setSources(
            current.includes(id) ? current.filter((source) => source !== id) : [...current, id],
        );
    }

    onClickRecord(ev: MouseEvent): void {
        const thread = this.thread;
        if (ev.ctrlKey || ev.metaKey || !thread?.res_model || !thread.res_id) {
            return;
        }
        ev.preventDefault();
        void openRecord(this.action, { model: thread.res_model, id: thread.res_id });
    }

    async onPick(resModel: string, resId: number, name: string): Promise<void> {
        this.state.picking = false;
        await this.controller.link(resModel, resId, name);
    }

    unlink(): void {
        void this.controller.link(false, false);
    }
}
