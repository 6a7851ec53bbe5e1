"""Until this version the agent's counters (answers, unsourced answers in a row, time to the
first answer), the hand-off its model asked for and the last visitor message it was given were
fields of the conversation (discuss.channel), whose row the visitor's every post updates: a
run's end writing them at that moment failed to serialize. They move to the agent's own row
(llm.livechat.state) and to the visitor's messages (llm_livechat_handled); the old columns go."""

from odoo.tools.sql import column_exists

OLD_COLUMNS = ("llm_first_answer_seconds", "llm_answer_count", "llm_unsourced_count",
               "llm_handoff_requested", "llm_last_handled_id")


def migrate(cr, version):
    if not column_exists(cr, "discuss_channel", "llm_last_handled_id"):
        return
    cr.execute("""
        INSERT INTO llm_livechat_state (channel_id, first_answer_seconds, answer_count,
                                        unsourced_count, handoff_requested, handoff_summary,
                                        create_uid, create_date, write_uid, write_date)
        SELECT id, llm_first_answer_seconds, COALESCE(llm_answer_count, 0),
               COALESCE(llm_unsourced_count, 0), llm_handoff_requested,
               CASE WHEN llm_handoff_requested IS NOT NULL THEN llm_handoff_summary END,
               1, NOW() AT TIME ZONE 'UTC', 1, NOW() AT TIME ZONE 'UTC'
          FROM discuss_channel
         WHERE llm_agent_partner_id IS NOT NULL
        ON CONFLICT (channel_id) DO NOTHING""")
    cr.execute("""
        UPDATE mail_message m SET llm_livechat_handled = TRUE
          FROM discuss_channel c
         WHERE m.model = 'discuss.channel' AND m.res_id = c.id AND m.message_type = 'comment'
           AND m.id <= c.llm_last_handled_id""")
    for column in OLD_COLUMNS:
        cr.execute(f"ALTER TABLE discuss_channel DROP COLUMN IF EXISTS {column}")
