// Reads an Odoo 18 server log: test results, skipped tests, and lines that must not be there.

const LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (\S+) (\S+): (.*)$/;
const RESULT = /^(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database/;
const SKIPPED = /^skipped (.+?) : (.*)$/;
// Hoot's headless runner reports its totals on the browser console, relayed into Odoo's log.
const HOOT_PASSED = /\[HOOT\] passed (\d+) tests \(/;
const HOOT_FAILED = /\[HOOT\] failed (\d+) tests \((\d+) passed/;

/**
 * Lines at WARNING or above that say nothing about our addon but come from this machine's setup.
 * Each entry must say why it is tolerated; everything else fails the run, as on Odoo's runbot.
 */
const TOLERATED = [];

export class OdooLogReport {
    constructor() {
        this.result = null; // { failed, errors, total }
        this.skipped = []; // { test, reason }
        this.badLines = []; // WARNING+ lines that fail the run
        this.hoot = null; // { passed, failed } when a Hoot suite ran
        this.sawLine = false;
    }

    /** Feed one line of output (stdout and stderr interleaved). */
    add(rawLine) {
        const match = LINE.exec(rawLine);
        if (!match) return;
        this.sawLine = true;
        const [, level, , logger, message] = match;
        const result = logger === "odoo.tests.result" && RESULT.exec(message);
        if (result) {
            this.result = { failed: +result[1], errors: +result[2], total: +result[3] };
            return; // its level only repeats whether the run failed, already counted
        }
        const skipped = SKIPPED.exec(message);
        if (skipped) this.skipped.push({ test: skipped[1], reason: skipped[2] });
        const hootPassed = HOOT_PASSED.exec(message);
        if (hootPassed) this.hoot = { passed: +hootPassed[1], failed: 0 };
        const hootFailed = HOOT_FAILED.exec(message);
        if (hootFailed) this.hoot = { passed: +hootFailed[2], failed: +hootFailed[1] };
        if ((level === "WARNING" || level === "ERROR" || level === "CRITICAL") &&
            !TOLERATED.some(({ pattern }) => pattern.test(rawLine))) {
            this.badLines.push(rawLine);
        }
    }

    /** Counts for the summary; ``problems`` lists why the run fails beyond failed tests. */
    summary() {
        const problems = [];
        if (!this.result) problems.push("Odoo printed no test result line: the run did not finish (see the log).");
        for (const { test, reason } of this.skipped) {
            problems.push(`a test was skipped, so it did not really run: ${test}: ${reason}`);
        }
        if (this.badLines.length) {
            problems.push(`${this.badLines.length} WARNING/ERROR line(s) in the Odoo log:\n  ${this.badLines.join("\n  ")}`);
        }
        if (this.hoot && !this.hoot.passed && !this.hoot.failed) {
            problems.push("the Hoot suite ran no test (is static/tests/*.test.js in web.assets_unit_tests?)");
        }
        let failed = (this.result?.failed ?? 0) + (this.result?.errors ?? 0);
        let passed = (this.result?.total ?? 0) - failed - this.skipped.length;
        if (this.hoot) {
            // The Python test that runs the Hoot suite is a carrier: count the Hoot tests instead.
            if (this.hoot.failed) failed -= 1;
            else passed -= 1;
            passed += this.hoot.passed;
            failed += this.hoot.failed;
        }
        return { passed, failed, skipped: this.skipped.length, problems };
    }
}
