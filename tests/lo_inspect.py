"""Open an .xlsm in LibreOffice headless and print, as JSON, its VBA modules and the macro
each form control (button) is bound to.

Runs under Debian's /usr/bin/python3 with python3-uno (not the project's venv):

    /usr/bin/python3 tests/lo_inspect.py FILE.xlsm

Output: {"libraries": {lib: {module: length}}, "buttons": [{"sheet", "label", "scripts"}]}.
LibreOffice starts in its own temporary profile, so it never touches a user's settings.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def _prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _connect(port, deadline):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    while True:
        try:
            return resolver.resolve(f"uno:socket,host=127.0.0.1,port={port};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def inspect(path):
    profile = tempfile.mkdtemp(prefix="lo-profile-")
    port = _free_port()
    office = subprocess.Popen([
        shutil.which("soffice") or "soffice", "--headless", "--invisible", "--norestore", "--nologo",
        "--nodefault", f"-env:UserInstallation=file://{profile}",
        f"--accept=socket,host=127.0.0.1,port={port};urp;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ctx = _connect(port, time.monotonic() + 60)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        url = uno.systemPathToFileUrl(os.path.abspath(path))
        # MacroExecutionMode 0 = NEVER_EXECUTE: we only look, nothing runs.
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (_prop("Hidden", True), _prop("MacroExecutionMode", 0)))
        try:
            return {"libraries": _libraries(doc), "buttons": _buttons(doc)}
        finally:
            doc.close(True)
    finally:
        office.terminate()
        try:
            office.wait(20)
        except subprocess.TimeoutExpired:
            office.kill()
        shutil.rmtree(profile, ignore_errors=True)


def _libraries(doc):
    libraries = {}
    basic = doc.BasicLibraries
    for name in basic.getElementNames():
        if not basic.isLibraryLoaded(name):
            basic.loadLibrary(name)
        library = basic.getByName(name)
        libraries[name] = {module: len(library.getByName(module)) for module in library.getElementNames()}
    return libraries


def _buttons(doc):
    found = []
    for sheet_index in range(doc.Sheets.Count):
        sheet = doc.Sheets.getByIndex(sheet_index)
        forms = sheet.DrawPage.Forms
        for f in range(forms.Count):
            form = forms.getByIndex(f)
            for c in range(form.Count):
                control = form.getByIndex(c)
                events = form.getScriptEvents(c)
                found.append({"sheet": sheet.Name, "label": getattr(control, "Label", ""),
                              "scripts": [e.ScriptCode for e in events]})
    return found


if __name__ == "__main__":
    print(json.dumps(inspect(sys.argv[1]), ensure_ascii=False))
