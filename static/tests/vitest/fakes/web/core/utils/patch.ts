/** Odoo's patch() without `super` support: enough for the methods our patches add. */
export function patch<T extends object>(target: T, extension: Record<string, any>): () => void {
    const descriptors = Object.getOwnPropertyDescriptors(extension);
    Object.defineProperties(target, descriptors);
    return () => {
        for (const key of Object.keys(descriptors)) {
            delete (target as Record<string, unknown>)[key];
        }
    };
}
