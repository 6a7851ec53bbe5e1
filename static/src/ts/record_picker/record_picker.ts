import { Component, useState } from "@odoo/owl";

import { _t } from "../core/l10n";
import type { ChatBackend } from "../conversation/transport";

export interface RecordPickerProps {
    backend: ChatBackend;
    onPick: (resModel: string, resId: number, name: string) => void;
    onCancel: () => void;
}

interface ModelChoice {
    model: string;
    name: string;
}

/**
 * Two steps: a model the user can read (searched by name), then one of its records by name
 * search. Runs as the user: ACLs and record rules decide what is offered.
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
    };
    declare searchId: number;

    setup(): void {
        this.state = useState({ model: null, query: "", models: [], records: [], error: "" });
        this.searchId = 0;
        void this.search("");
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
        if (ev.key === "Escape") {
            ev.preventDefault();
            this.props.onCancel();
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
                }
            } else {
                const models = await this.props.backend.call<ModelChoice[]>(
                    "llm_ui_readable_models",
                    [],
                    { search: query, limit: 8 },
                );
                if (id === this.searchId) {
                    this.state.models = models;
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
