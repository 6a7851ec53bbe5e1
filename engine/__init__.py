"""The engine of llm_thread: one generation and the contract it writes (events, stored
messages). Below ``models/``, which it never imports; above ``providers/``."""
