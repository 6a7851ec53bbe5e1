import { Component, onMounted, onWillStart, onWillUnmount, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

import { useChatBackend } from "../core/backend";
import { _t } from "../core/l10n";
import { ChatController } from "../conversation/chat_controller";
import { Conversation } from "../conversation/conversation";
import { onRecordChanged } from "../conversation/record_changes";
import { GenerationRefused, type ChatBackend } from "../core/transport";
import { ThreadHeader } from "../header/thread_header";

export interface ChatterPanelProps {
    resModel: string;
    resId: number;
    onClose: () => void;
    /** A tool call of any conversation changed this record: the form shows it anew. */
    onRecordChanged?: () => void;
    /** Saves the form's pending edits (mail's chatter prop), before any answer starts;
     * false when the form cannot be saved. */
    saveRecord?: () => Promise<boolean>;
    /** The question to ask in a new conversation (Ask AI from the command palette), taken
     * once: "" when there is none. */
    takeQuestion?: () => string;
    backend?: ChatBackend;
}

/**
 * `backend`, with the form saved before every generation: a tool of the answer may write the
 * record, and the form is then reloaded the way mail reloads it, saving it first, which wrote
 * its unsaved values over the change the user had just approved.
 */
function savingFirst(backend: ChatBackend, saveRecord: () => Promise<boolean>): ChatBackend {
    const saving: ChatBackend = Object.create(backend);
    saving.startGeneration = async (request) => {
        if ((await saveRecord()) === false) {
            // The form says which fields are wrong; the question goes back to the composer.
            throw new GenerationRefused("record_not_saved", _t(
                "The record could not be saved: correct the fields the form shows, then send "
                + "again. The AI answers about the record as it is saved, and may change it."));
        }
        return backend.startGeneration(request);
    };
    return saving;
}

/**
 * The AI panel inside a record's chatter: this user's threads linked to the record (newest
 * first) and "new conversation"; the newest is opened, or a new one (a draft, created by its
 * first message) when there is none or a question is given to ask: the composer is ready,
 * and its focus brings the panel into view when the chatter is below the form.
 */
export class ChatterPanel extends Component<ChatterPanelProps> {
    static template = "llm_thread.ChatterPanel";
    static components = { Conversation, ThreadHeader };
    static props = {
        resModel: String,
        resId: Number,
        onClose: Function,
        onRecordChanged: { type: Function, optional: true },
        saveRecord: { type: Function, optional: true },
        takeQuestion: { type: Function, optional: true },
        backend: { type: Object, optional: true },
    };

    declare backend: ChatBackend;
    declare controller: ChatController;
    declare action: { doAction(action: unknown): Promise<unknown> };

    setup(): void {
        const backend = this.props.backend ?? useChatBackend();
        this.backend = this.props.saveRecord ? savingFirst(backend, this.props.saveRecord) : backend;
        this.action = useService("action");
        this.controller = useState(
            new ChatController(this.backend, {
                resModel: this.props.resModel,
                resId: this.props.resId,
            }),
        );
        const question = this.props.takeQuestion?.() ?? "";
        onWillStart(async () => {
            await this.controller.start();
            const newest = this.controller.threads[0];
            await (newest && !question ? this.controller.open(newest.id) : this.controller.newDraft());
        });
        onMounted(() => {
            if (question) {
                void this.controller.ask(question);
            }
        });
        const unsubscribe = onRecordChanged(
            () => ({ model: this.props.resModel, id: this.props.resId }),
            () => this.props.onRecordChanged?.(),
        );
        onWillUnmount(() => {
            unsubscribe();
            this.controller.close();
        });
    }

    onSelectThread(ev: Event): void {
        const value = (ev.target as HTMLSelectElement).value;
        if (value === "new") {
            void this.controller.newDraft();
        } else {
            void this.controller.open(Number(value));
        }
    }

    newThread(): void {
        void this.controller.newDraft();
    }

    configure(): void {
        void this.action.doAction("llm_thread.action_llm_provider");
    }
}
