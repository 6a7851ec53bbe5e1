// One voice for the harness on the console, and one error type whose message tells what to do.

export class HarnessError extends Error {
    /** @param {string} message what went wrong and exactly what to do about it */
    constructor(message) {
        super(message);
        this.name = "HarnessError";
    }
}

export function say(message) {
    process.stderr.write(`[llm_thread] ${message}\n`);
}
