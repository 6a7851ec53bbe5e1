// @vitest-environment node
import { describe, expect, test } from "vitest";
import { OdooLogReport } from "../lib/odoo_log.mjs";

const at = (level, logger, message) =>
    `2026-11-22 02:54:47,193 10265 ${level} llm_thread_test_1 ${logger}: ${message} `;
const result = (failed, errors, total) =>
    at(failed || errors ? "ERROR" : "INFO", "odoo.tests.result",
        `${failed} failed, ${errors} error(s) of ${total} tests when loading database 'llm_thread_test_1'`);
const hoot = (message) => at("INFO", "odoo.addons.llm_thread.tests.test_ui.TestUi.test_hoot_suite.browser", `[HOOT] ${message}`);

function report(lines) {
    const log = new OdooLogReport();
    for (const line of lines) log.add(line);
    return log.summary();
}

describe("OdooLogReport", () => {
    test("counts Odoo's result line, Hoot tests in place of the test that carries them", () => {
        expect(report([hoot("passed 2 tests (3 assertions, total time: 00:00:00)"), result(0, 0, 5)]))
            .toEqual({ passed: 6, failed: 0, skipped: 0, problems: [] });
    });

    test("a failed Hoot suite counts its failed tests, not its carrier", () => {
        expect(report([hoot("failed 1 tests (2 passed, total time: 00:00:01)"), result(1, 0, 5)]))
            .toMatchObject({ passed: 6, failed: 1 });
    });

    test("a skipped browser test is a problem that names the reason", () => {
        const summary = report([
            at("INFO", "odoo.addons.llm_thread.tests.test_ui", "skipped TestUi.test_chat_app_tour : websocket-client module is not installed"),
            result(0, 0, 5),
        ]);
        expect(summary.skipped).toBe(1);
        expect(summary.problems.join("\n")).toContain("websocket-client module is not installed");
    });

    test("a WARNING line anywhere fails the run, with its text", () => {
        const line = at("WARNING", "odoo.modules.loading", "The model llm.thread has no access rules");
        const summary = report([line, result(0, 0, 3)]);
        expect(summary.problems).toHaveLength(1);
        expect(summary.problems[0]).toContain(line);
    });

    test("a run that never printed its result line is a problem", () => {
        expect(report([at("INFO", "odoo.service.server", "Starting post tests")]).problems[0])
            .toContain("no test result line");
    });

    test("a Hoot suite that ran no test is a problem", () => {
        expect(report([hoot("passed 0 tests (0 assertions, total time: 00:00:00)"), result(0, 0, 1)]).problems)
            .toEqual([expect.stringContaining("ran no test")]);
    });

    test("lines that are not log records (tracebacks, stderr) are ignored", () => {
        expect(report(["Traceback (most recent call last):", "Running as user 'root' is a security risk.", result(0, 0, 1)]))
            .toEqual({ passed: 1, failed: 0, skipped: 0, problems: [] });
    });
});
