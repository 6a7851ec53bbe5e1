"""Conversations stored before versions (llm_parent_id) were a single line: each message
follows the one before it. Without this, all of them would look like versions of one another."""


def migrate(cr, version):
    cr.execute("""
        UPDATE mail_message message
           SET llm_parent_id = previous.parent_id
          FROM (SELECT id, LAG(id) OVER (PARTITION BY res_id ORDER BY id) AS parent_id
                  FROM mail_message
                 WHERE model = 'llm.thread' AND llm_role IS NOT NULL) previous
         WHERE message.id = previous.id AND previous.parent_id IS NOT NULL
           AND message.llm_parent_id IS NULL
    """)
