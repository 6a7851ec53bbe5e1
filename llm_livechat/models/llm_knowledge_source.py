from odoo import fields, models


class LlmKnowledgeSource(models.Model):
    _inherit = "llm.knowledge.source"

    public_url = fields.Char(
        "Public Page",
        help="Where website visitors can read this source (a page of your website, a public "
             "document). The live chat agent links it under the answers that cite the source; "
             "sources without one are cited without a link.")
