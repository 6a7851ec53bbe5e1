"""Conversations now belong to a company (the one they were started in), which scopes the LLM
managers' audit. Conversations stored before had none: the update filled the new column with
one company for all of them, so each takes its owner's company instead, the closest to where
it was started that is known."""


def migrate(cr, version):
    cr.execute("""
        UPDATE llm_thread thread
           SET company_id = users.company_id
          FROM res_users users
         WHERE users.id = thread.user_id AND thread.company_id IS DISTINCT FROM users.company_id
    """)
