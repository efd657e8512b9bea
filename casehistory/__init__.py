"""Event-sourced multi-agency case histories for safeguarding children: the shared code."""
