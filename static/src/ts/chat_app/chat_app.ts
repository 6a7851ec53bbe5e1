import { Component, onMounted, onWillStart, onWillUnmount, useEffect, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";
import { useSetupAction } from "@web/search/action_hook";

import { useChatBackend } from "../core/backend";
import { _t } from "../core/l10n";
import { ChatController } from "../conversation/chat_controller";
import { Conversation } from "../conversation/conversation";
import type { ChatBackend } from "../core/transport";
import { ThreadHeader } from "../header/thread_header";
import { ThreadList } from "../thread_list/thread_list";

export interface ChatAppProps {
    /** The `ir.actions.client` record being run. */
    action: { tag: string; context?: { active_id?: number }; params?: { thread_id?: number } };
    /** "o_action": the web client's layout class that makes an action fill the screen. */
    className?: string;
    /** Tests inject a backend; in Odoo it is built from the services. */
    backend?: ChatBackend;
    updateActionState?: (state: Record<string, unknown>) => void;
    /** What `getLocalState` saved when the user left for another screen (breadcrumbs). */
    state?: { thread_id?: number | null };
    /** Asked in a new conversation once the app is open (Ask AI from the command palette;
     * a doAction() prop, so that a reload does not ask it again). */
    question?: string;
}

/**
 * The LLM Chat client action (tag "llm_thread.chat", URL /odoo/llm-chat): the thread list on
 * the left, the open conversation with its header on the right. The open thread is kept in the
 * action state, so a reload (or a shared URL) reopens it. It opens on a ready composer: that
 * thread, else the latest one, else a new draft. Below Odoo's small breakpoint (a phone) one
 * column shows at a time, as in Discuss: the list, or the conversation with a back button.
 */
export class ChatApp extends Component<ChatAppProps> {
    static template = "llm_thread.ChatApp";
    static components = { Conversation, ThreadHeader, ThreadList };
    static props = {
        action: Object,
        className: { type: String, optional: true },
        backend: { type: Object, optional: true },
        updateActionState: { type: Function, optional: true },
        question: { type: String, optional: true },
        // The action service also passes actionId, state, globalState and whatever doAction()
        // was given in `props`: accept them as Odoo's client actions do.
        "*": true as const,
    };
    static displayName = _t("LLM Chat");

    declare backend: ChatBackend;
    declare controller: ChatController;
    declare action: { doAction(action: unknown): Promise<unknown> };
    /** Odoo's ui service (reactive): `isSmall` below the small breakpoint. */
    declare ui: { isSmall: boolean };
    /** On a phone, which column shows. */
    declare state: { pane: "list" | "conversation" };

    setup(): void {
        this.backend = this.props.backend ?? useChatBackend();
        this.action = useService("action");
        this.controller = useState(new ChatController(this.backend));
        this.ui = useState(useService("ui"));
        // Back from another screen (a record opened from the chat) through the breadcrumbs,
        // the same conversation is open again, an answer still streaming in it included.
        useSetupAction({ getLocalState: () => ({ thread_id: this.controller.activeId }) });
        // `?.` on action too: OWL validates a root component's props after setup().
        const { context, params } = this.props.action ?? {};
        const initial =
            this.props.state?.thread_id ?? context?.active_id ?? params?.thread_id ?? null;
        // Not again when the user comes back through the breadcrumbs (the action service
        // gives the same props, with the state saved on leaving).
        const question = this.props.state ? "" : this.props.question ?? "";
        // On a phone the list comes first, unless a given thread or a question is to be shown.
        this.state = useState({ pane: initial || question ? "conversation" : "list" });
        onWillStart(async () => {
            await this.controller.start(initial);
            if (question) {
                await this.controller.newDraft();
            } else if (!this.conversation.thread) {
                const latest = this.controller.threads[0];
                await (latest ? this.controller.open(latest.id) : this.controller.newDraft());
            }
            if (this.controller.refusedOpening) {
                // Not silently elsewhere: why the one asked for (a link) did not open.
                this.conversation.notice = this.controller.refusedOpening;
            }
        });
        onMounted(() => {
            if (question) {
                void this.controller.ask(question);
            }
        });
        onWillUnmount(() => this.controller.close());
        useEffect(
            (id) => {
                this.props.updateActionState?.({ active_id: id ?? undefined });
            },
            () => [this.controller.activeId],
        );
    }

    get conversation() {
        return this.controller.conversation;
    }

    /** The columns shown: both, or on a phone the one the user is on. */
    get shows(): { list: boolean; conversation: boolean } {
        const small = this.ui.isSmall;
        return {
            list: !small || this.state.pane === "list",
            conversation: !small || this.state.pane === "conversation",
        };
    }

    async openThread(id: number): Promise<void> {
        this.state.pane = "conversation";
        await this.controller.open(id);
    }

    newThread(): void {
        this.state.pane = "conversation";
        void this.controller.newDraft();
    }

    backToList(): void {
        this.state.pane = "list";
    }

    configure(): void {
        void this.action.doAction("llm_thread.action_llm_provider");
    }
}
