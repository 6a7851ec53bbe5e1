// The "AI" button in every chatter's top bar. Mail's Chatter is patched, not replaced: three
// handlers, one state key and one bus subscription here, two xpaths in chatter_patch.xml
// beside this file.
import { onWillUnmount } from "@odoo/owl";
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
    };
    onThreadCreated?: ((thread: unknown) => void) | null;
    /** Mail's form chatter (mail/chatter/web/chatter_patch.js): saves, then reloads the form. */
    reloadParentView?: () => Promise<void>;
}

Chatter.components = { ...Chatter.components, LlmChatterPanel: ChatterPanel };

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
    },

    onClickLlm(this: ChatterLike): void {
        if (this.state.llmOpen) {
            this.state.llmOpen = false;
        } else if (this.state.thread?.id) {
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
    },
});
