import { useEnv } from "@odoo/owl";

/** Odoo's useService reads the env's services: tests mount with `env.services`. */
export function useService(name: string): any {
    const services = (useEnv() as { services?: Record<string, unknown> }).services ?? {};
    if (!(name in services)) {
        throw new Error(`Service ${name} is not available`);
    }
    return services[name];
}
