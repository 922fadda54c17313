"""click's own words in Chinese: usage, section titles, and every usage error.

click marks its texts for gettext (`from gettext import gettext as _` in each module) and
formats them after translating. `install()` replaces those module-level `_` and `ngettext`
with a lookup in `MESSAGES`, so "Invalid value for '--period': 'x' is not a valid integer."
reads "参数 '--period' 的值无效：'x' 不是有效的整数". Placeholders are kept as click names
them; English words click passes into them (type and parameter kinds) are translated by
`WORDS` when the template is formatted. A text not in the table stays as click wrote it
(a test checks that every text this command line can show is translated).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["install", "MESSAGES", "WORDS", "translate"]

MESSAGES = {
    # help pages
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示本帮助并退出。",
    "Show the version and exit.": "显示版本号并退出。",
    "%(prog)s, version %(version)s": "%(prog)s 版本 %(version)s",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已弃用",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    # errors
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行“{command} {option}”查看帮助。",
    "Aborted!": "已中止。",
    "Missing command.": "缺少命令。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Invalid value: {message}": "取值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的取值无效：{message}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Did you mean {possibility}?": "是否要输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否要输入以下之一：{possibilities}？）",
    "Option {name!r} requires an argument.": "选项 {name!r} 后面需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 后面需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，但只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，但给了 {len} 个。",
    "Value must be an iterable.": "取值应为多个值。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value} is not in the range {range}.": "{value} 不在 {range} 范围内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的是/否值；可用：{states}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值 {choices} 之中。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}（例如 2020-09-18）。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是一个文件，这里需要文件夹。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是一个文件夹，这里需要文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 无法读取（没有权限）。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 无法写入（没有权限）。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "Do you want to continue?": "是否继续？",
    "Repeat for confirmation": "请再输入一次确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
}

# English words click formats into its templates as a type name or a kind of parameter.
WORDS = {
    "integer": "整数", "float": "数字", "text": "文字", "boolean": "是/否", "datetime": "日期",
    "option": "选项", "argument": "参数", "parameter": "参数", "integer range": "整数", "float range": "数字",
}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types", "termui")


_WORD_SLOTS = ("number_type", "param_type")   # never `value`: that is what the user typed


class _Template(str):
    """A translated template whose formatting translates the words click passes in."""

    def format(self, *args: Any, **kwargs: Any) -> str:
        words = {k: WORDS.get(v, v) for k, v in kwargs.items() if k in _WORD_SLOTS and isinstance(v, str)}
        return str.format(self, *args, **{**kwargs, **words})


def translate(message: str) -> str:
    """click's `_`: the Chinese for a click text (unknown texts unchanged)."""
    found = MESSAGES.get(message)
    return _Template(found) if found is not None else message


def _plural(singular: str, plural: str, n: int) -> str:
    return translate(singular if n == 1 else plural)


def install() -> None:
    """Make click speak Chinese in this process (idempotent)."""
    for name in _MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = translate
        if hasattr(module, "ngettext"):
            module.ngettext = _plural
