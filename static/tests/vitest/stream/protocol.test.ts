// @vitest-environment node
// The protocol agreement test: the Python table (engine/protocol.py, printed as JSON when
// run as a script) and the TypeScript module must define the same events, fields and types,
// error codes, states, bus notifications and stored body keys.
import { execFileSync } from "node:child_process";

import { expect, test } from "vitest";

import {
    BUSY_STATES,
    ERROR_CODES,
    EVENT_FIELDS,
    GENERATION_STATE_NOTIFICATION,
    GENERATION_STATES,
    STORED_BODY_KEYS,
    THREAD_LIST_CHANGES,
    THREAD_LIST_NOTIFICATION,
} from "../../../src/ts/stream/protocol";

const PROTOCOL_PY = new URL("../../../../engine/protocol.py", import.meta.url).pathname;

test("Python and TypeScript define the same protocol", () => {
    // Plain stdlib module: any python3 runs it, no Odoo needed.
    const python = JSON.parse(execFileSync("python3", [PROTOCOL_PY], { encoding: "utf8" }));
    expect(EVENT_FIELDS).toEqual(python.events);
    expect(Object.values(ERROR_CODES)).toEqual(python.error_codes);
    expect(GENERATION_STATES).toEqual(python.generation_states);
    expect(BUSY_STATES).toEqual(python.busy_states);
    expect(GENERATION_STATE_NOTIFICATION).toEqual(python.notification);
    expect(THREAD_LIST_NOTIFICATION).toEqual(python.list_notification);
    expect(THREAD_LIST_CHANGES).toEqual(python.list_changes);
    expect([...STORED_BODY_KEYS].sort()).toEqual(python.stored_body_keys);
});
