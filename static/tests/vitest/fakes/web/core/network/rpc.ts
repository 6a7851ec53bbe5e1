/** Tests never reach this: components get their backend injected. */
export function rpc<T = any>(url: string): Promise<T> {
    return Promise.reject(new Error(`no network in unit tests (${url})`));
}
