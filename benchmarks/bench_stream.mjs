// Runs benchmarks/bench_stream.py on a fresh database with llm_thread (see odoo_bench.mjs).
//
//   node benchmarks/bench_stream.mjs [bench_stream.py options, e.g. --streams 50,100,200]
import { ADDON_NAME } from "../scripts/lib/paths.mjs";
import { runBenchmark } from "./odoo_bench.mjs";

await runBenchmark("bench_stream.py", [ADDON_NAME], process.argv.slice(2));
