// Globals the web client provides outside of Odoo's module system.

/** Odoo 18 ships DOMPurify 3.1.x as a global script in web.assets_backend: reused, not bundled. */
interface DOMPurifyLike {
    sanitize(dirty: string, config?: Record<string, unknown>): string;
}

declare const DOMPurify: DOMPurifyLike;

/** A hash of static/src/dist/llm_thread_rich.js, set by build.mjs (vitest: "test"). */
declare const LLM_THREAD_RICH_VERSION: string;
