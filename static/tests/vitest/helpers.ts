import { App, type ComponentConstructor } from "@odoo/owl";
import { onTestFinished } from "vitest";

// The XML files the manifest gives Odoo (static/src/ts/**/*.xml), read as text by Vite.
const xmlFiles = import.meta.glob<string>("../../src/ts/**/*.xml", {
    query: "?raw",
    import: "default",
    eager: true,
});

/** Their `t-name` templates by name: what Odoo registers for OWL to look up lazily. */
export const templates: Record<string, string> = {};
for (const [path, xml] of Object.entries(xmlFiles)) {
    const document = new DOMParser().parseFromString(xml, "text/xml");
    const error = document.querySelector("parsererror");
    if (error) {
        throw new Error(`${path}: ${error.textContent}`);
    }
    for (const template of document.querySelectorAll(":root > [t-name]")) {
        const name = template.getAttribute("t-name") ?? "";
        if (name in templates) {
            throw new Error(`${path}: template "${name}" is defined twice`);
        }
        templates[name] = template.outerHTML;
    }
}

/**
 * jsdom has no layout, hence no ResizeObserver: this one records what is observed, and
 * `resized()` calls back the observers of an element, as a browser does when its size changes.
 */
class FakeResizeObserver {
    static observers = new Set<FakeResizeObserver>();
    private readonly targets = new Set<Element>();

    constructor(private readonly callback: ResizeObserverCallback) {}

    observe(target: Element): void {
        this.targets.add(target);
        FakeResizeObserver.observers.add(this);
    }

    unobserve(target: Element): void {
        this.targets.delete(target);
    }

    disconnect(): void {
        this.targets.clear();
        FakeResizeObserver.observers.delete(this);
    }

    notify(target: Element): void {
        if (this.targets.has(target)) {
            this.callback([{ target } as ResizeObserverEntry], this as unknown as ResizeObserver);
        }
    }
}
globalThis.ResizeObserver ??= FakeResizeObserver as unknown as typeof ResizeObserver;

/** `el` changed size (its layout is faked by the test): its observers are called. */
export function resized(el: Element): void {
    for (const observer of FakeResizeObserver.observers) {
        observer.notify(el);
    }
}

/**
 * Mounts `component` in a fresh fixture, destroyed when the test ends, and returns the fixture.
 * `test: true` is OWL's dev mode without its console banner, so props are validated as in
 * Odoo's debug mode; `warnIfNoStaticProps` flags a component that forgets `static props`.
 */
export async function mountComponent<P extends object>(
    component: ComponentConstructor<P>,
    props: P,
    env: object = {},
): Promise<HTMLElement> {
    const fixture = document.createElement("div");
    document.body.append(fixture);
    const app = new App(component, {
        templates,
        test: true,
        warnIfNoStaticProps: true,
        env,
        props,
    });
    onTestFinished(() => {
        app.destroy();
        fixture.remove();
    });
    await app.mount(fixture);
    return fixture;
}
