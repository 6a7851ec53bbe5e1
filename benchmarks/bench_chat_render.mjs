// Rendering benchmark of a streamed answer, in headless Chromium (Debian's `chromium`):
// the real Conversation component receives a 20,000-character markdown answer at 500 deltas a
// second; prints the longest main-thread task while it streams (goal: under 50 ms) and the
// scripting time of the whole stream against rendering the final markdown once.
//
//   node benchmarks/bench_chat_render.mjs [--chars 20000] [--rate 500] [--runs 3]
//
// Chromium is driven over --remote-debugging-pipe (no extra npm package); the page is the
// bundle of benchmarks/bench_chat_render_page.ts with OWL and DOMPurify from node_modules.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = Object.fromEntries(
    process.argv.slice(2).join(" ").split("--").filter(Boolean).map((a) => a.trim().split(/\s+/)),
);
const CHARS = Number(args.chars ?? 20000);
const RATE = Number(args.rate ?? 500);
const RUNS = Number(args.runs ?? 3);

/** A deterministic markdown answer of about `chars` characters: prose, lists, code, tables. */
function answer(chars) {
    const blocks = [];
    let i = 0;
    while (blocks.join("\n\n").length < chars) {
        i++;
        blocks.push(`## Section ${i}`);
        blocks.push(`This is paragraph ${i} with **bold**, _italic_, \`inline code\` and a [link](https://example.com/${i}). ` +
            "Odoo records are read with the user's rights, so the answer only shows what you may see.");
        blocks.push(["- first point", "- second point with `code`", "- third point"].join("\n"));
        if (i % 3 === 0) {
            blocks.push("```python\n" + Array.from({ length: 6 }, (_, k) => `value_${k} = env['res.partner'].search_count([])`).join("\n") + "\n```");
        }
        if (i % 4 === 0) {
            blocks.push("| Name | Count | Amount |\n| --- | --- | --- |\n" +
                Array.from({ length: 5 }, (_, k) => `| Row ${k} | ${k * 7} | ${(k * 13.5).toFixed(2)} |`).join("\n"));
        }
    }
    return blocks.join("\n\n").slice(0, chars);
}

async function buildPage(dir) {
    const result = await esbuild.build({
        absWorkingDir: ROOT,
        entryPoints: ["benchmarks/bench_chat_render_page.ts"],
        bundle: true, format: "iife", target: "es2022", write: false, logLevel: "warning",
        define: { LLM_THREAD_RICH_VERSION: JSON.stringify("bench") },
        // The fake loadJS imports the lazy renderer's source: highlighting is measured too.
        alias: { "@web/core/assets": "./static/tests/vitest/fakes/web/core/assets.ts",
                 "@web/core/utils/hooks": "./static/tests/vitest/fakes/web/core/utils/hooks.ts",
                 "@web/core/l10n/translation": "./static/tests/vitest/fakes/web/core/l10n/translation.ts",
                 "@web/core/user": "./static/tests/vitest/fakes/web/core/user.ts" },
    });
    // The templates sit beside their components, as the manifest's static/src/ts/**/*.xml glob loads them.
    const xmlDir = join(ROOT, "static/src/ts");
    const xml = readdirSync(xmlDir, { recursive: true }).filter((f) => f.endsWith(".xml")).sort()
        .map((f) => readFileSync(join(xmlDir, f), "utf8"));
    const html = `<!doctype html><html><head><meta charset="utf-8"></head><body><div id="root" style="height:800px;overflow:auto"></div>
<script>window.XML_FILES = ${JSON.stringify(xml).replace(/</g, "\\u003c")};</script>
<script>${result.outputFiles[0].text.replace(/<\/script/gi, "<\\/script")}</script></body></html>`;
    writeFileSync(join(dir, "index.html"), html);
    return join(dir, "index.html");
}

/** CDP over --remote-debugging-pipe: NUL-terminated JSON messages on fds 3 (in) and 4 (out). */
class Chromium {
    constructor(profile) {
        this.proc = spawn("chromium", ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--remote-debugging-pipe", `--user-data-dir=${profile}`, "--window-size=1280,900", "about:blank"],
            { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] });
        this.nextId = 0;
        this.pending = new Map();
        this.listeners = [];
        let buffer = "";
        this.proc.stdio[4].on("data", (chunk) => {
            buffer += chunk.toString("utf8");
            let end;
            while ((end = buffer.indexOf("\0")) !== -1) {
                const message = JSON.parse(buffer.slice(0, end));
                buffer = buffer.slice(end + 1);
                if (message.id && this.pending.has(message.id)) {
                    const { resolve, reject } = this.pending.get(message.id);
                    this.pending.delete(message.id);
                    message.error ? reject(new Error(JSON.stringify(message.error))) : resolve(message.result);
                } else {
                    this.listeners.forEach((listener) => listener(message));
                }
            }
        });
    }
    send(method, params = {}, sessionId = undefined) {
        const id = ++this.nextId;
        this.proc.stdio[3].write(JSON.stringify({ id, method, params, sessionId }) + "\0");
        return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    }
    /** Resolves once Chromium has exited (its profile can then be removed). */
    close() {
        const exited = new Promise((resolve) => this.proc.once("exit", resolve));
        this.proc.kill();
        return exited;
    }
}

async function main() {
    const dir = mkdtempSync(join(tmpdir(), "llm_bench_"));
    const browser = new Chromium(join(dir, "profile"));
    try {
        const page = await buildPage(dir);
        const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
        const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true });
        const call = (method, params) => browser.send(method, params, sessionId);
        await call("Performance.enable", {});
        await call("Page.enable", {});
        await call("Page.navigate", { url: `file://${page}` });
        for (let i = 0; i < 100; i++) {
            const { result } = await call("Runtime.evaluate", { expression: "typeof window.bench", returnByValue: true });
            if (result.value === "object") break;
            await new Promise((r) => setTimeout(r, 100));
        }
        const text = answer(CHARS);
        const deltaSize = 20;
        const scriptTime = async () => (await call("Performance.getMetrics", {})).metrics
            .find((m) => m.name === "ScriptDuration").value * 1000;
        const run = async (expression) => {
            const before = await scriptTime();
            const { result, exceptionDetails } = await call("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
            if (exceptionDetails) throw new Error(JSON.stringify(exceptionDetails));
            return { wall: result.value, script: (await scriptTime()) - before };
        };
        const traced = async (expression) => {
            const events = [];
            const listener = (m) => {
                if (m.method === "Tracing.dataCollected") events.push(...m.params.value);
            };
            browser.listeners.push(listener);
            const complete = new Promise((resolve) => browser.listeners.push((m) => m.method === "Tracing.tracingComplete" && resolve()));
            await call("Tracing.start", { categories: "devtools.timeline,toplevel", transferMode: "ReportEvents" });
            const measured = await run(expression);
            await call("Tracing.end", {});
            await complete;
            const main = events.filter((e) => e.ph === "M" && e.name === "thread_name" && e.args.name === "CrRendererMain")
                .map((e) => `${e.pid}:${e.tid}`);
            const tasks = events.filter((e) => (e.name === "RunTask" || e.name === "ThreadControllerImpl::RunTask") && e.dur && main.includes(`${e.pid}:${e.tid}`));
            if (process.env.BENCH_DEBUG) {
                const t0 = Math.min(...tasks.map((e) => e.ts));
                const top = [...tasks].sort((a, b) => b.dur - a.dur).slice(0, 4);
                for (const task of top) {
                    const inner = events.filter((e) => e.tid === task.tid && e.ts >= task.ts && e.ts < task.ts + task.dur && e.dur > 2000 && e !== task)
                        .map((e) => `${e.name}:${(e.dur / 1000).toFixed(1)}`).slice(0, 8);
                    console.error(`task ${(task.dur / 1000).toFixed(1)} ms at +${((task.ts - t0) / 1000).toFixed(0)} ms: ${inner.join(" ")}`);
                }
            }
            return { ...measured, longest: Math.max(0, ...tasks.map((e) => e.dur / 1000)) };
        };
        const js = JSON.stringify(text);
        // OWL compiles each template the first time it renders, once per page: warm up with a
        // short answer so the figures are those of every answer after the first.
        await run(`bench.stream(${JSON.stringify(text.slice(0, 2000))}, ${RATE}, ${deltaSize})`);
        const rows = [];
        for (let i = 0; i < RUNS; i++) {
            const streamed = await traced(`bench.stream(${js}, ${RATE}, ${deltaSize})`);
            const single = await traced(`bench.once(${js})`);
            rows.push({ streamed, single });
        }
        const deltas = Math.ceil(text.length / deltaSize);
        const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
        const longest = median(rows.map((r) => r.streamed.longest));
        console.log(`answer: ${text.length} characters of markdown, ${deltas} deltas of ${deltaSize} characters at ${RATE}/s (${RUNS} runs after a warm-up answer, medians)`);
        console.log(`stream: wall ${median(rows.map((r) => r.streamed.wall)).toFixed(0)} ms, scripting ${median(rows.map((r) => r.streamed.script)).toFixed(0)} ms, longest main-thread task ${longest.toFixed(1)} ms (goal < 50 ms: ${longest < 50 ? "met" : "NOT met"})`);
        console.log(`once:   scripting ${median(rows.map((r) => r.single.script)).toFixed(0)} ms, longest task ${median(rows.map((r) => r.single.longest)).toFixed(1)} ms (rendering the final markdown once)`);
        console.log(`stream scripting / once scripting: ${(median(rows.map((r) => r.streamed.script)) / median(rows.map((r) => r.single.script))).toFixed(1)}x`);
    } finally {
        await browser.close();
        rmSync(dir, { recursive: true, force: true });
    }
}

await main();
