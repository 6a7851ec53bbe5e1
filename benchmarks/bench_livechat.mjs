// Runs benchmarks/bench_livechat.py on a fresh database with llm_thread and llm_livechat (see
// runWithAddonDatabase in scripts/lib/odoo.mjs).
//
//   node benchmarks/bench_livechat.mjs [bench_livechat.py options, e.g. --visitors 50]
import { HarnessError } from "../scripts/lib/log.mjs";
import { runWithAddonDatabase } from "../scripts/lib/odoo.mjs";
import { MODULES } from "../scripts/lib/paths.mjs";

let code = 1;
try {
    code = await runWithAddonDatabase("bench", "benchmarks/bench_livechat.py", process.argv.slice(2), MODULES);
} catch (error) {
    console.error(error instanceof HarnessError ? error.message : error);
}
process.exit(code);
