// Ask AI from anywhere: a namespace of Odoo's command palette (Ctrl+K), as "/" is for menus
// and "@" for users. What follows "!" is the question; it is asked in a new conversation of
// the record's AI panel when a record's chatter is on screen, or of the LLM Chat app.
import { _t } from "../core/l10n";
import type { ActionService } from "../core/records";
import type { RecordAsker } from "../chatter/chatter_patch";

/** Not taken by Odoo 18: "/" menus, "@" users, "#" channels, "?" Knowledge's articles. */
export const ASK_AI_NAMESPACE = "!";

/** The palette's setup of the namespace; its name ends the footer's tip ("search for
 * /menus, @users, #channels and !AI answers"). */
export const askAiSetup = {
    name: _t("AI answers"),
    placeholder: _t("Ask AI anything…"),
    emptyMessage: _t("Type your question, then press Enter."),
};

/** An entry of the palette (Odoo's command palette Command). */
export interface AskAiCommand {
    name: string;
    action: () => void;
}

/** The client action the palette's action service is at, if any. */
interface PaletteActionService extends ActionService {
    currentController?: { action: { tag?: string } } | null;
}

const CHAT_TAG = "llm_thread.chat";

/** Opens the LLM Chat app asking `question` in a new conversation; in place of the chat
 * when the user is in it already, else with a breadcrumb back to where they were. */
export function askInChat(action: PaletteActionService, question: string): Promise<unknown> {
    const inChat = action.currentController?.action.tag === CHAT_TAG;
    return action.doAction("llm_thread.action_llm_chat", {
        props: { question },
        ...(inChat ? { stackPosition: "replaceCurrentAction" } : {}),
    });
}

/**
 * The palette's entries for `searchValue`: none until something is typed; then asking it
 * about the record on screen first (Enter picks it), and in LLM Chat.
 */
export function askAiCommands(
    searchValue: string,
    record: RecordAsker | null,
    openChat: (question: string) => void,
): AskAiCommand[] {
    const question = searchValue.trim();
    if (!question) {
        return [];
    }
    const inChat = {
        name: _t("Ask AI in LLM Chat: %s").replace("%s", question),
        action: () => openChat(question),
    };
    if (!record) {
        return [inChat];
    }
    return [
        { name: _t("Ask AI about this record: %s").replace("%s", question), action: () => record.askLlm(question) },
        inChat,
    ];
}

/** The palette's provider of the namespace (registry "command_provider"). */
export function askAiProvider(recordOnScreen: () => RecordAsker | null) {
    return {
        namespace: ASK_AI_NAMESPACE,
        // The palette gives the env's services untyped (types/odoo.d.ts): the action service
        // is the one thing taken from them, named here.
        provide: (env: { services: Record<string, unknown> }, options: { searchValue: string }) =>
            askAiCommands(options.searchValue, recordOnScreen(), (question) => {
                void askInChat(env.services.action as PaletteActionService, question);
            }),
    };
}
