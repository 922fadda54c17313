"""Intake: what came in → received files → cell grids, read safely.

`collect` walks the inbox, opens mails and zips and tells files apart by content;
`safeguard` runs the cheap structural checks before any parser sees the bytes; `workers`
parses in guarded child processes; `records` holds the plain records passed on to `checks`.
"""
