import { useEffect, useEnv, useRef } from "@odoo/owl";

/** Odoo's useService reads the env's services: tests mount with `env.services`. */
export function useService(name: string): any {
    const services = (useEnv() as { services?: Record<string, unknown> }).services ?? {};
    if (!(name in services)) {
        throw new Error(`Service ${name} is not available`);
    }
    return services[name];
}

/** Odoo's useAutofocus, as on a desktop: focuses the ref's element whenever it appears. */
export function useAutofocus({ refName = "autofocus", selectAll = false } = {}): { el: HTMLElement | null } {
    const ref = useRef(refName);
    useEffect(
        (el: HTMLElement | null) => {
            if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
                el.focus();
                el.selectionStart = selectAll ? 0 : el.value.length;
                el.selectionEnd = el.value.length;
            } else {
                el?.focus();
            }
        },
        () => [ref.el],
    );
    return ref;
}
