// @vitest-environment node
import { describe, expect, test } from "vitest";
import { readOdooDepends } from "../lib/debian.mjs";

const CONTROL = `Source: odoo
Maintainer: Odoo S.A. <info@odoo.com>

Package: odoo
Architecture: all
Depends:
 \${misc:Depends},
 \${python3:Depends},
 adduser,
# support for multilingual fonts
 fonts-dejavu-core | fonts-freefont-ttf | fonts-freefont-otf | fonts-noto-core,
 python3-babel,
# After lxml 5.2, lxml-html-clean is in a separate package
 python3-lxml-html-clean | python3-lxml,
 python3-psycopg2 (>= 2.9),
Pre-Depends: \${misc:Pre-Depends}
Conflicts: tinyerp-server
Recommends:
 postgresql,
`;

describe("readOdooDepends", () => {
    test("reads the Depends field of debian/control as groups of alternatives", () => {
        expect(readOdooDepends(CONTROL)).toEqual([
            ["adduser"],
            ["fonts-dejavu-core", "fonts-freefont-ttf", "fonts-freefont-otf", "fonts-noto-core"],
            ["python3-babel"],
            ["python3-lxml-html-clean", "python3-lxml"],
            ["python3-psycopg2"],
        ]);
    });

    test("a control file without Depends asks for nothing", () => {
        expect(readOdooDepends("Source: odoo\n")).toEqual([]);
    });
});
