"""The Excel front: the buttons on `xw.Book` (`buttons`), the server for RunServerPython
(`server`), the master .xlsm and its VBA project built on Linux (`workbook`, `vbaproject`,
`cfb`, with the VBA sources in `macros/`), and their command-line commands (`commands`)."""
