// The "AI" button in every chatter's top bar. Mail's Chatter is patched, not replaced: a few
// handlers, two state keys and one bus subscription here, two xpaths in chatter_patch.xml
// beside this file.
import { onMounted, onWillUnmount } from "@odoo/owl";
import { Chatter } from "@mail/chatter/web_portal/chatter";
import { patch } from "@web/core/utils/patch";

import { useChatBackend } from "../core/backend";
import { BUSY_STATES } from "../stream/protocol";
import { ChatterPanel } from "./chatter_panel";

interface ChatterLike {
    props: { saveRecord?: () => Promise<boolean> };
    state: {
        thread?: { model: string; id: number | false; fetchNewMessages(): Promise<unknown> };
        llmOpen?: boolean;
        /** How many questions Ask AI brought: each one opens the panel anew (its key). */
        llmAsks?: number;
    };
    /** The question Ask AI brought, until the panel takes it. */
    llmQuestion?: string;
    onClickLlm(): void;
    openLlm(): void;
    onThreadCreated?: ((thread: unknown) => void) | null;
    /** Mail's form chatter (mail/chatter/web/chatter_patch.js): saves, then reloads the form. */
    reloadParentView?: () => Promise<void>;
}

Chatter.components = { ...Chatter.components, LlmChatterPanel: ChatterPanel };

/** What Ask AI needs of a chatter: to ask a question in its record's AI panel. */
export interface RecordAsker {
    askLlm(question: string): void;
}

/** The chatters mounted, the latest last: a form opened in a dialog over a form comes last. */
const mounted: RecordAsker[] = [];

/** The chatter of the record on screen (the topmost one), if any. */
export function chatterOnScreen(): RecordAsker | null {
    return mounted.at(-1) ?? null;
}

patch(Chatter.prototype, {
    setup(this: ChatterLike) {
        super.setup();
        // An answer run on the server (Run Assistant, an automation rule) may post its note on
        // this record when it ends, with no request of this page to show it: the messages
        // are fetched again whenever one of the user's answers ends.
        const unsubscribe = useChatBackend().onGenerationState((change) => {
            if (this.state.thread?.id && !BUSY_STATES.includes(change.state)) {
                void this.state.thread.fetchNewMessages();
            }
        });
        onWillUnmount(unsubscribe);
        const asker = this as unknown as RecordAsker;
        onMounted(() => mounted.push(asker));
        onWillUnmount(() => mounted.splice(mounted.indexOf(asker), 1));
    },

    /** Ask AI (the command palette): `question` in a new conversation of the AI panel, which
     * opens (a new record is saved first, as for the button). */
    askLlm(this: ChatterLike, question: string): void {
        this.llmQuestion = question;
        this.state.llmAsks = (this.state.llmAsks ?? 0) + 1;
        if (!this.state.llmOpen) {
            this.openLlm();
        }
    },

    takeLlmQuestion(this: ChatterLike): string {
        const question = this.llmQuestion ?? "";
        this.llmQuestion = "";
        return question;
    },

    /** The AI button. A question Ask AI left waiting (its new record failed to save) is
     * dropped: the panel opening now must not send it unasked. */
    onClickLlm(this: ChatterLike): void {
        this.llmQuestion = "";
        if (this.state.llmOpen) {
            this.state.llmOpen = false;
        } else {
            this.openLlm();
        }
    },

    openLlm(this: ChatterLike): void {
        if (this.state.thread?.id) {
            this.state.llmOpen = true;
        } else {
            // An unsaved record is saved first, as mail does for its own buttons: the panel
            // opens once the chatter has the record's id (mail's onThreadCreated hook).
            this.onThreadCreated = () => {
                this.state.llmOpen = true;
            };
            void this.props.saveRecord?.();
        }
    },

    /** A tool call changed the record: reload the form and the messages its change posted. */
    async onLlmRecordChanged(this: ChatterLike): Promise<void> {
        await this.reloadParentView?.();
        await this.state.thread?.fetchNewMessages();
    },

    closeLlm(this: ChatterLike): void {
        this.state.llmOpen = false;
        this.llmQuestion = "";
    },
});
