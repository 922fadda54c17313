"""Checks: cell grids → a return read by label → normalised figures and every issue.

`read` finds the form's structure by its labels; `normalize` turns typed text into numbers;
`validate` runs every check of a return in one pass.
"""
