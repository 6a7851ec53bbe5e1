import { Component, useState } from "@odoo/owl";
import { useAutofocus } from "@web/core/utils/hooks";

import type { ThreadSummary } from "../conversation/types";
import { _t } from "../core/l10n";
import { BUSY_STATES } from "../stream/protocol";
import { groupByRecency } from "./recency";

export interface ThreadListProps {
    threads: ThreadSummary[];
    activeId: number | null;
    search: string;
    onSearch: (search: string) => void;
    /** The list shows the conversations automations started instead of the user's own. */
    automations: boolean;
    onAutomations: (automations: boolean) => void;
    onOpen: (id: number) => void;
    onNew: () => void;
    onRename: (id: number, name: string) => void;
    onDelete: (id: number) => void;
}

/**
 * The user's conversations: search, new, rename in place, delete after a confirmation; a
 * switch shows those that automations (Run Assistant actions) started for them instead.
 */
export class ThreadList extends Component<ThreadListProps> {
    static template = "llm_thread.ThreadList";
    static props = {
        threads: Array,
        activeId: { type: [Number, { value: null }] },
        search: String,
        onSearch: Function,
        automations: Boolean,
        onAutomations: Function,
        onOpen: Function,
        onNew: Function,
        onRename: Function,
        onDelete: Function,
    };

    declare state: { renamingId: number | null; renameText: string; confirmDeleteId: number | null };

    setup(): void {
        this.state = useState({ renamingId: null, renameText: "", confirmDeleteId: null });
        // The name input replaces the pencil that was clicked: it takes the focus, name selected.
        useAutofocus({ refName: "rename", selectAll: true, mobile: true });
    }

    get groups() {
        return groupByRecency(this.props.threads, (thread) => thread.write_date);
    }

    onSearchInput(ev: InputEvent): void {
        this.props.onSearch((ev.target as HTMLInputElement).value);
    }

    startRename(thread: ThreadSummary): void {
        this.state.confirmDeleteId = null;
        this.state.renamingId = thread.id;
        this.state.renameText = thread.name;
    }

    onRenameInput(ev: InputEvent): void {
        this.state.renameText = (ev.target as HTMLInputElement).value;
    }

    onRenameKeydown(ev: KeyboardEvent): void {
        if (ev.key === "Enter") {
            ev.preventDefault();
            this.commitRename();
        } else if (ev.key === "Escape") {
            ev.preventDefault();
            this.state.renamingId = null;
        }
    }

    commitRename(): void {
        const id = this.state.renamingId;
        const name = this.state.renameText.trim();
        this.state.renamingId = null;
        const thread = this.props.threads.find((t) => t.id === id);
        if (id !== null && name && thread && name !== thread.name) {
            this.props.onRename(id, name);
        }
    }

    /** An answer is being written: the server refuses to delete the conversation until it
     * is stopped (llm.thread.unlink), so the list does not offer it. */
    answering(thread: ThreadSummary): boolean {
        return BUSY_STATES.includes(thread.generation_state);
    }

    deleteTitle(thread: ThreadSummary): string {
        return this.answering(thread)
            ? _t("An answer is being written: stop it to delete the conversation.")
            : _t("Delete");
    }

    askDelete(thread: ThreadSummary): void {
        this.state.renamingId = null;
        this.state.confirmDeleteId = thread.id;
    }

    confirmDelete(): void {
        const id = this.state.confirmDeleteId;
        this.state.confirmDeleteId = null;
        if (id !== null) {
            this.props.onDelete(id);
        }
    }
}
