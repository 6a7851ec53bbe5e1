import { Component } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

import { ASK_AI_NAMESPACE } from "./ask_ai";

/** The top bar's Ask AI button: the command palette, on its Ask AI namespace. */
export class AskAiButton extends Component {
    static template = "llm_thread.AskAiButton";
    static props = {};

    declare command: { openMainPalette(config?: { searchValue?: string }): void };

    setup(): void {
        this.command = useService("command");
    }

    open(): void {
        this.command.openMainPalette({ searchValue: ASK_AI_NAMESPACE });
    }
}
