import { Component } from "@odoo/owl";

/** Stands in for mail's Chatter: the patch only adds methods and a component. */
export class Chatter extends Component {
    static template = "mail.Chatter";
    static components: Record<string, unknown> = {};
    static props = ["*"];
}
