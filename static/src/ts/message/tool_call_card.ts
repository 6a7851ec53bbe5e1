import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

import { _t } from "../core/l10n";
import { openRecord, recordUrl, type ActionService } from "../core/records";
import type { RecordLink, ToolCallView } from "./types";

export interface ToolCallCardProps {
    call: ToolCallView;
    /** Approve (true) or deny (false) a call waiting for approval; absent: read-only. */
    onDecide?: (callId: string, approved: boolean) => void;
}

/** One tool call: its name, readable arguments, state, collapsible result, records touched. */
export class ToolCallCard extends Component<ToolCallCardProps> {
    static template = "llm_thread.ToolCallCard";
    static props = { call: Object, onDecide: { type: Function, optional: true } };

    declare action: ActionService;
    declare state: { open: boolean };

    setup(): void {
        this.action = useService("action");
        this.state = useState({ open: false });
    }

    /** Arguments as "key: value" lines; nested values as compact JSON. */
    get argumentLines(): { key: string; value: string }[] {
        return Object.entries(this.props.call.arguments).map(([key, value]) => ({
            key,
            value: typeof value === "string" ? value : JSON.stringify(value),
        }));
    }

    /** A call the user denied is not a failure: it did what they asked (nothing). */
    get shownStatus(): ToolCallView["status"] | "denied" {
        const { status, approval } = this.props.call;
        return status === "error" && approval?.state === "denied" ? "denied" : status;
    }

    get statusLabel(): string {
        return {
            running: _t("Running…"),
            approval: _t("Waiting for approval"),
            done: _t("Done"),
            error: _t("Error"),
            denied: _t("Denied"),
        }[this.shownStatus];
    }

    /** The arguments as the model sent them, indented: folded under an approval's preview. */
    get argumentsJson(): string {
        return JSON.stringify(this.props.call.arguments, null, 2);
    }

    /** "Approved by you" / "Denied" once decided, for the card's footer. */
    get decisionLabel(): string {
        const state = this.props.call.approval?.state;
        if (state === "approved") {
            return _t("Approved");
        }
        return state === "denied" ? _t("Denied") : "";
    }

    decide(approved: boolean): void {
        this.props.onDecide?.(this.props.call.callId, approved);
    }

    get resultText(): string {
        const { result } = this.props.call;
        try {
            return JSON.stringify(JSON.parse(result), null, 2);
        } catch {
            return result;
        }
    }

    url(link: RecordLink): string {
        return recordUrl(link.model, link.id);
    }

    onClickRecord(ev: MouseEvent, link: RecordLink): void {
        if (ev.ctrlKey || ev.metaKey) {
            return; // a new browser tab, as for any link
        }
        ev.preventDefault();
        void openRecord(this.action, link);
    }
}
