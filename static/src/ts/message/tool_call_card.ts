import { Component, useState } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

import { _t } from "../core/l10n";
import { openRecord, recordUrl, type ActionService } from "../core/records";
import type { RecordLink, ToolCallView } from "../conversation/types";

export interface ToolCallCardProps {
    call: ToolCallView;
}

/** One tool call: its name, readable arguments, state, collapsible result, records touched. */
export class ToolCallCard extends Component<ToolCallCardProps> {
    static template = "llm_thread.ToolCallCard";
    static props = { call: Object };

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

    get statusLabel(): string {
        return {
            running: _t("Running…"),
            done: _t("Done"),
            error: _t("Error"),
        }[this.props.call.status];
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
