/** Pretty URL of a record's form in Odoo 18 (/odoo/<model>/<id>). */
export function recordUrl(model: string, id: number): string {
    return `/odoo/${encodeURIComponent(model)}/${id}`;
}

export interface ActionService {
    doAction(action: unknown, options?: Record<string, unknown>): Promise<unknown>;
}

/** Opens a record's form in the current web client, keeping the breadcrumb. */
export function openRecord(action: ActionService, link: { model: string; id: number }) {
    return action.doAction({
        type: "ir.actions.act_window",
        res_model: link.model,
        res_id: link.id,
        views: [[false, "form"]],
    });
}
