// Discuss shows operators which live chat conversations the AI agent answers: a marker in the
// sidebar, the conversation's header and its chat window, from the `llm_ai_answering` that
// discuss.channel._to_store adds and sends again whenever it changes. Conversations of their
// channels that the AI answers are listed though they are not members (a preview, as Discuss
// shows a channel one has not joined). Their header actions "Take over" and "Give to the AI"
// call the list view's methods; the server checks access (_llm_check_operator), and
// `llm_agent_available` only hides the actions from whoever it would refuse.
import { Component } from "@odoo/owl";
import { ChatWindow } from "@mail/core/common/chat_window";
import { Record } from "@mail/core/common/record";
import { threadActionsRegistry } from "@mail/core/common/thread_actions";
import { Thread } from "@mail/core/common/thread_model";
import { Discuss } from "@mail/core/public_web/discuss";
import { MessagingMenu } from "@mail/core/public_web/messaging_menu";
import { discussSidebarChannelIndicatorsRegistry } from "@mail/discuss/core/public_web/discuss_sidebar_categories";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";

/** What discuss.channel._to_store adds to live chat conversations for internal users. */
interface AiThread extends Thread {
    llm_ai_answering: boolean;
    llm_agent_available: boolean;
}

/** Listed in Discuss while the AI answers; no longer once someone else took it over (unless
 * it is the conversation open in Discuss: it stays until the operator leaves it). */
function listWhileAiAnswers(thread: AiThread): void {
    if (thread.channel_type !== "livechat" || thread.is_pinned) {
        // A member's conversation is listed by Discuss itself. (Not `selfMember`: after the
        // operator leaves, the removal of their member may come after this update, or never,
        // once Discuss stops listening to the conversation.)
        return;
    }
    if (thread.llm_ai_answering) {
        thread.isLocallyPinned = true;
    } else if (!thread.eq(thread.store.discuss.thread)) {
        thread.isLocallyPinned = false;
    }
}

patch(Thread.prototype, {
    setup(this: AiThread): void {
        super.setup();
        this.llm_ai_answering = Record.attr(false, {
            onUpdate(this: AiThread) {
                listWhileAiAnswers(this);
            },
        });
        this.llm_agent_available = Record.attr(false);
    },

    /** Listed to operators who are not in it, a conversation the AI answers brings its
     * messages to their Discuss, but neither chat windows nor sounds: no one of the team is
     * in it until one takes it over. */
    notifyMessageToUser(this: AiThread, message: unknown): void {
        if (!this.llm_ai_answering) {
            super.notifyMessageToUser(message);
        }
    },
});

export class AiAnsweringMarker extends Component {
    static template = "llm_livechat.AiAnsweringMarker";
    static props = { thread: { type: Thread } };
}

discussSidebarChannelIndicatorsRegistry.add("llm-ai-handling", AiAnsweringMarker);
Discuss.components = { ...Discuss.components, AiAnsweringMarker };
ChatWindow.components = { ...ChatWindow.components, AiAnsweringMarker };
Object.assign(MessagingMenu.components, { AiAnsweringMarker });

/** The messaging menu (the systray's, and Discuss's own list on a phone) lists only the
 * conversations one is a member of: the ones the AI answers are added, marked, to its live
 * chat tab and to its list of everything. */
function withAiAnswered(menu: MessagingMenu, threads: Thread[]): Thread[] {
    const tab = menu.store.discuss.activeTab;
    if (tab !== "livechat" && (tab !== "main" || menu.env.inDiscussApp)) {
        return threads;
    }
    const answered = Object.values(menu.store.Thread.records).filter(
        (thread) => (thread as AiThread).llm_ai_answering && thread.isLocallyPinned && !threads.includes(thread),
    );
    return [...threads, ...answered];
}

patch(MessagingMenu.prototype, {
    get threads(): Thread[] {
        return withAiAnswered(this as unknown as MessagingMenu, super.threads);
    },
});

/** The open live chat conversation, when the current user may act on its AI agent. */
function agentThread(thread: Thread | undefined): AiThread | undefined {
    const ai = thread as AiThread | undefined;
    return ai?.model === "discuss.channel" && ai.channel_type === "livechat" && ai.llm_agent_available
        ? ai
        : undefined;
}

async function callChannel(thread: Thread, method: string): Promise<void> {
    await thread.store.env.services.orm.call("discuss.channel", method, [[thread.id]]);
}

threadActionsRegistry.add("llm-take-over", {
    condition: (component) => Boolean(agentThread(component.thread)?.llm_ai_answering),
    icon: "fa fa-fw fa-hand-paper-o",
    name: _t("Take over"),
    open(component) {
        const thread = agentThread(component.thread);
        if (thread) {
            // The operator joins: the server sends the conversation back, unmarked.
            void callChannel(thread, "action_llm_take_over");
        }
    },
    sequence: 5,
    sequenceGroup: 5,
});

threadActionsRegistry.add("llm-give-to-ai", {
    condition(component) {
        const thread = agentThread(component.thread);
        return Boolean(thread && thread.livechat_active && !thread.llm_ai_answering);
    },
    icon: "fa fa-fw fa-magic",
    name: _t("Give to the AI"),
    open(component) {
        const thread = agentThread(component.thread);
        if (thread) {
            void giveToAi(thread);
        }
    },
    sequence: 5,
    sequenceGroup: 5,
});

/** The agent joins, and the operator leaves: the agent answers once no operator is in. */
async function giveToAi(thread: AiThread): Promise<void> {
    await callChannel(thread, "action_llm_invite_agent");
    if (thread.selfMember) {
        await thread.leave();
    }
}
