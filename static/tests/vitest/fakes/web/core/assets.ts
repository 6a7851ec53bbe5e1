/** Stands in for Odoo's loadJS: "loads" the lazy renderer by importing its source, which sets
 * the same global as the built file. Records each URL asked for. */
export const loadedUrls: string[] = [];

export async function loadJS(url: string): Promise<void> {
    loadedUrls.push(url);
    await import("../../../../../src/ts/markdown/rich_entry");
}
