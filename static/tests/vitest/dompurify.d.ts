// dompurify 3.1.5 (Odoo 18's version) ships no types of its own: what the tests use.
declare module "dompurify" {
    export default function createDOMPurify(window: Window): DOMPurifyLike;
}
