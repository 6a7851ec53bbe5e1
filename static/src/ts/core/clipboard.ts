/**
 * Copies `text`; false when the browser did not. `navigator.clipboard` exists only in secure
 * contexts (https, localhost): on an Odoo served over plain http://host:8069, as many on-premise
 * ones are, there is none, and a hidden textarea is copied the old way instead, as Odoo does in
 * web/static/src/polyfills/clipboard.js (a script patching `navigator.clipboard` only where it
 * exists, nothing to import).
 */
export async function copyText(text: string): Promise<boolean> {
    if (navigator.clipboard?.writeText) {
        try {
            await navigator.clipboard.writeText(text);
            return true;
        } catch {
            // Refused (no permission, the page not focused): the old way may still work.
        }
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    Object.assign(area.style, { position: "fixed", top: "0", left: "0", opacity: "0" });
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    document.body.appendChild(area);
    area.select();
    try {
        return document.execCommand("copy");
    } catch {
        return false;
    } finally {
        area.remove();
        focused?.focus();
    }
}
