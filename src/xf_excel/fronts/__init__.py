"""The fronts: the command line (`cli`) and the Excel wing (`excel`: buttons, server,
the .xlsm builder). They reach the core only through `xf_excel.pipeline`."""
