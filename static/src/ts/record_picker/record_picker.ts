import { Component, useState } from "@odoo/owl";
import { useAutofocus } from "@web/core/utils/hooks";

import { _t } from "../core/l10n";
import type { ChatBackend } from "../core/transport";

export interface RecordPickerProps {
    backend: ChatBackend;
    onPick: (resModel: string, resId: number, name: string) => void;
    onCancel: () => void;
}

interface ModelChoice {
    model: string;
    name: string;
}

let lastPickerId = 0;

/**
 * Two steps: a model the user can read (searched by name; business models first), then one
 * of its records by name search. Runs as the user: ACLs and record rules decide what is
 * offered. The search box has the focus; the arrow keys move through the options, Enter picks.
 */
export class RecordPicker extends Component<RecordPickerProps> {
    static template = "llm_thread.RecordPicker";
    static props = { backend: Object, onPick: Function, onCancel: Function };

    declare state: {
        model: ModelChoice | null;
        query: string;
        models: ModelChoice[];
        records: [number, string][];
        error: string;
        /** The option the arrow keys are on (Enter picks it). */
        active: number;
    };
    declare searchId: number;
    /** Prefix of the options' DOM ids (aria-activedescendant). */
    declare domId: string;

    setup(): void {
        this.state = useState({ model: null, query: "", models: [], records: [], error: "", active: 0 });
        this.searchId = 0;
        this.domId = `o_llm_record_picker_${++lastPickerId}`;
        // Opened by a click on "Link a record": the search box is where the user goes next.
        useAutofocus({ mobile: true });
        void this.search("");
    }

    /** How many options are shown. */
    get optionCount(): number {
        return this.state.model ? this.state.records.length : this.state.models.length;
    }

    get placeholder(): string {
        return this.state.model
            ? _t("Search %s…").replace("%s", this.state.model.name)
            : _t("Search a model (Contact, Sales Order…)");
    }

    onInput(ev: InputEvent): void {
        void this.search((ev.target as HTMLInputElement).value);
    }

    onKeydown(ev: KeyboardEvent): void {
        const count = this.optionCount;
        if (ev.key === "Escape") {
            ev.preventDefault();
            this.props.onCancel();
        } else if (ev.key === "ArrowDown" && count) {
            ev.preventDefault();
            this.state.active = (this.state.active + 1) % count;
        } else if (ev.key === "ArrowUp" && count) {
            ev.preventDefault();
            this.state.active = (this.state.active - 1 + count) % count;
        } else if (ev.key === "Enter" && count) {
            ev.preventDefault();
            const index = Math.min(this.state.active, count - 1);
            if (this.state.model) {
                this.pick(this.state.records[index]!);
            } else {
                this.chooseModel(this.state.models[index]!);
            }
        }
    }

    /** Latest query wins: answers to older queries are dropped. */
    async search(query: string): Promise<void> {
        this.state.query = query;
        const id = ++this.searchId;
        try {
            if (this.state.model) {
                const records = await this.props.backend.callModel<[number, string][]>(
                    this.state.model.model,
                    "name_search",
                    [],
                    { name: query, limit: 8 },
                );
                if (id === this.searchId) {
                    this.state.records = records;
                    this.state.active = 0;
                }
            } else {
                const models = await this.props.backend.call<ModelChoice[]>(
                    "llm_ui_readable_models",
                    [],
                    { search: query, limit: 8 },
                );
                if (id === this.searchId) {
                    this.state.models = models;
                    this.state.active = 0;
                }
            }
            this.state.error = "";
        } catch {
            this.state.error = _t("This list could not be loaded.");
        }
    }

    chooseModel(choice: ModelChoice): void {
        this.state.model = choice;
        this.state.records = [];
        void this.search("");
    }

    back(): void {
        this.state.model = null;
        void this.search("");
    }

    pick(record: [number, string]): void {
        this.props.onPick(this.state.model!.model, record[0], record[1]);
    }
}
