// The multi-server tier of `npm test`: tests/processes/two_servers.py starts Odoo servers of
// its own on a fresh database (two on one database, as behind a load balancer) and kills one.
//
//   node scripts/test-processes.mjs [--summary FILE]
import { HarnessError } from "./lib/log.mjs";
import { runWithAddonDatabase } from "./lib/odoo.mjs";

const summaryAt = process.argv.indexOf("--summary");
let code = 1;
try {
    code = await runWithAddonDatabase("processes", "tests/processes/two_servers.py",
        summaryAt === -1 ? [] : [process.argv[summaryAt + 1]]);
} catch (error) {
    console.error(error instanceof HarnessError ? error.message : error);
}
process.exit(code);
