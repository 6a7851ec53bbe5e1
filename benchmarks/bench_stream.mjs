// Runs benchmarks/bench_stream.py against a fresh database made by the test harness: copies
// the template, installs llm_thread, hands the odoo-bin command line to the Python script
// (which starts the servers and prints the figures), then drops the database.
//
//   node benchmarks/bench_stream.mjs [bench_stream.py options, e.g. --streams 50,100,200]
import { HarnessError } from "../scripts/lib/log.mjs";
import { runWithAddonDatabase } from "../scripts/lib/odoo.mjs";

let code = 1;
try {
    code = await runWithAddonDatabase("bench", "benchmarks/bench_stream.py", process.argv.slice(2));
} catch (error) {
    console.error(error instanceof HarnessError ? error.message : error);
}
process.exit(code);
