from . import mail_message
from . import llm_thread
