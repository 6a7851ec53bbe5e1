import { defineConfig } from "vitest/config";

export default defineConfig({
    // Set by build.mjs from the lazy renderer's content.
    define: { LLM_THREAD_RICH_VERSION: JSON.stringify("test") },
    resolve: {
        // Odoo provides @web/*, @mail/* and @bus/* at runtime; tests get small fakes instead. A
        // leading "/" resolves from the project root.
        alias: [
            { find: /^@(web|mail|bus)\/(.*)$/, replacement: "/static/tests/vitest/fakes/$1/$2" },
        ],
    },
    test: {
        // Not happy-dom: its XML parser rejects OWL attributes such as `t-on-click.prevent`.
        environment: "jsdom",
        // The harness's own logic (scripts/lib) is tested here too, in a node environment.
        include: ["static/tests/vitest/**/*.test.ts", "scripts/tests/**/*.test.mjs"],
    },
});
