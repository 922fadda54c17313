"""Outputs: everything written for people — return forms, feedback workbooks, the master
workbook, the briefing and its charts (templates inside, as package data)."""
