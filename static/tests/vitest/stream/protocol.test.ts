// @vitest-environment node
// The protocol agreement test: the Python table (engine/protocol.py, printed as JSON when
// run as a script) and the TypeScript table must list the same events, fields and types.
import { execFileSync } from "node:child_process";

import { expect, test } from "vitest";

import { EVENT_FIELDS } from "../../../src/ts/stream/protocol";

const PROTOCOL_PY = new URL("../../../../engine/protocol.py", import.meta.url).pathname;

test("Python and TypeScript define the same events, fields and field types", () => {
    // Plain stdlib module: any python3 runs it, no Odoo needed.
    const python = JSON.parse(execFileSync("python3", [PROTOCOL_PY], { encoding: "utf8" }));
    expect(EVENT_FIELDS).toEqual(python);
});
