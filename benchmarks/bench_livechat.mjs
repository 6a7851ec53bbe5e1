// Runs benchmarks/bench_livechat.py on a fresh database with llm_thread and llm_livechat (see
// odoo_bench.mjs).
//
//   node benchmarks/bench_livechat.mjs [bench_livechat.py options, e.g. --visitors 50]
import { MODULES } from "../scripts/lib/paths.mjs";
import { runBenchmark } from "./odoo_bench.mjs";

await runBenchmark("bench_livechat.py", MODULES, process.argv.slice(2));
