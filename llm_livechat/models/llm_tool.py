from odoo import fields, models


class LlmTool(models.Model):
    _inherit = "llm.tool"

    visitor_safe = fields.Boolean(
        "Safe for Website Visitors",
        help="The live chat agent, which answers anonymous website visitors, may offer and run "
             "this tool. Only mark tools that read public information or act on what the "
             "visitor gave (never the record tools or SQL): a visitor's message may ask the "
             "model for anything.")
