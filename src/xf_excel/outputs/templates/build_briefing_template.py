"""(Re)generate the Word templates beside this script: briefing.docx, the weekly briefing
(工作简报), and summary.docx, the campaign-end report (活动总结) in the same layout and styles.

Run:  .venv/bin/python src/xf_excel/outputs/templates/build_briefing_template.py [OUT.docx] [--summary]
      (no argument: both templates beside this script; --summary: OUT is the summary's)

The template is built in code so its construction is reproducible and reviewable; the
generated .docx is committed, and staff may restyle it in Word afterwards (change a style,
reword the 下一步工作 section, move a heading) as long as the {{ … }} / {%p … %} tags stay.

Layout per GB/T 9704-2012 (see the project's notes/briefing-format.md):
- A4; top margin 37 mm, left (binding side) 28 mm, type area 156 × 225 mm, so right 26 mm
  and bottom 35 mm; page number 7 mm below the type area.
- Body 仿宋_GB2312 3号 (16 pt), fixed line pitch 28.95 pt (22 lines), first-line indent of
  two characters; headings 一、 in 黑体 and （一） in 楷体_GB2312 at body size; title 2号
  (22 pt) 小标宋 centred.
- Masthead: briefing name in large red 小标宋, 第N期, a line with the office left and the
  date right, and a red rule across the type area (that paragraph's bottom border).
- Page numbers `— 1 —` in 4号 宋体: odd pages right, even pages left (one character in).
- 版记 at the end: the 报/送/发 lines, then the compiling office and the date it was issued
  (and the print run), 4号 仿宋, between a thick first and last rule (0.35 mm) with thin
  rules (0.25 mm) between the items.
- Chinese fonts are set as w:eastAsia on every style and run, not only the Latin name,
  or Word would fall back to another face.
- Every font used is declared in fontTable.xml with its panose, charset and an alternative
  name, so Word and WPS substitute a face of the same kind where it is missing (FangSong
  for 仿宋_GB2312, a Song face for 小标宋). What python-docx's default template leaves behind
  is tidied away: its Japanese theme fonts, the Word 2010 stylesWithEffects part (a stale
  copy of styles.xml), the blank-page thumbnail, app.xml's statistics, the 2013 dates;
  w:zoom gets the w:percent ISO/IEC 29500 requires.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

FANGSONG = "仿宋_GB2312"
HEITI = "黑体"
KAITI = "楷体_GB2312"
XIAOBIAOSONG = "FZXiaoBiaoSong-B05S"   # 方正小标宋简体
SONGTI = "宋体"

RED = RGBColor(0xFF, 0x00, 0x00)
BODY_PT = 16            # 3号
TITLE_PT = 22           # 2号
MASTHEAD_PT = 36        # 小初
SMALL_PT = 14           # 4号: tables, captions, page numbers
ANNEX_PT = 10.5         # 5号: the campaign-end report's one-page table of every target
LINE_PITCH = Pt(28.95)  # 22 lines in the 225 mm type area
TYPE_WIDTH = Mm(156)

# Style names are Chinese (what staff see in Word's style pane); their ids are ASCII.
STYLE_IDS = {
    "报头名称": "XfMasthead", "报头期号": "XfIssue", "报头单位日期": "XfOfficeDate", "简报标题": "XfTitle",
    "一级标题": "XfHeading1", "二级标题": "XfHeading2", "图片": "XfPicture", "图表标题": "XfCaption",
    "表格文字": "XfTableText", "表头文字": "XfTableHead", "页码": "XfPageNumber", "版记": "XfImprint",
    "版记锚点": "XfImprintAnchor", "附表标题": "XfAnnexTitle", "附表文字": "XfAnnexText", "附表表头": "XfAnnexHead",
}
THICK_RULE, THIN_RULE = 8, 6   # eighths of a point: 0.35 mm and 0.25 mm (GB/T 9704 版记)

# ---- fonts and paragraph properties ---------------------------------------------------------

# Word rejects a document whose w:pPr children are out of schema order (CT_PPrBase), so
# elements python-docx has no API for are inserted before their successors.
_AFTER_OUTLINE = ("w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_AFTER_PBDR = ("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
               "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
               "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
               "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl") + _AFTER_OUTLINE

def set_fonts(rpr, east_asia: str, latin: str | None = None) -> None:
    """Name the font for East Asian and Latin text explicitly (and drop theme fonts, which win)."""
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin or east_asia)
    fonts.set(qn("w:eastAsia"), east_asia)


def first_line_chars(ppr, chars: int, size_pt: float = BODY_PT) -> None:
    """First-line indent in characters (w:firstLineChars, hundredths), with the twips as fallback."""
    ind = ppr.get_or_add_ind()
    ind.set(qn("w:firstLineChars"), str(chars * 100))
    ind.set(qn("w:firstLine"), str(int(chars * size_pt * 20)))


def paragraph_style(doc, name: str, *, base: str = "Normal", font: str = FANGSONG, size: float = BODY_PT,
                    align=None, indent_chars: int | None = None, exact: bool = True, bold: bool = False,
                    color: RGBColor | None = None, keep_with_next: bool = False, outline: int | None = None):
    """A paragraph style with explicit East Asian font, size and line pitch."""
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = STYLE_IDS[name]  # ASCII ids, as Word itself gives styles with Chinese names
    style.base_style = doc.styles[base]
    style.quick_style = True
    style.font.size = Pt(size)
    style.font.bold = bold
    if color is not None:
        style.font.color.rgb = color
    set_fonts(style.element.get_or_add_rPr(), font)
    fmt = style.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    if exact:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = LINE_PITCH
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    if align is not None:
        fmt.alignment = align
    if indent_chars is not None:
        first_line_chars(style.element.get_or_add_pPr(), indent_chars, size)
    fmt.keep_with_next = keep_with_next
    if outline is not None:
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), str(outline))
        style.element.get_or_add_pPr().insert_element_before(level, *_AFTER_OUTLINE)
    return style


def off_grid(style) -> None:
    """The style's lines keep their own pitch instead of snapping to the document's line grid."""
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    style.element.get_or_add_pPr().insert_element_before(snap, *_AFTER_PBDR[_AFTER_PBDR.index("w:spacing"):])


def bottom_border(ppr, color: str = "FF0000", eighths: int = 12) -> None:
    """A rule under the paragraph across its whole width (the masthead's red line)."""
    border = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", str(eighths)), ("w:space", "6"), ("w:color", color)):
        bottom.set(qn(key), value)
    border.append(bottom)
    ppr.insert_element_before(border, *_AFTER_PBDR)


def add_text(paragraph, text: str, *, font: str, size: float, color: RGBColor | None = None, bold: bool = False):
    """A run with explicit fonts (East Asian and Latin), size and colour."""
    run = paragraph.add_run(text)
    set_fonts(run._r.get_or_add_rPr(), font)
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    return run


# ---- document set-up ------------------------------------------------------------------------

def setup_page(doc) -> None:
    """A4 and the GB/T 9704 margins; a line grid of 22 lines."""
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance = Mm(15)
    # page number 7 mm below the type area: its top at 28 mm, so a 4号 line ends about 23 mm up
    section.footer_distance = Mm(23)
    grid = section._sectPr.find(qn("w:docGrid"))
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), "579")


def setup_defaults(doc) -> None:
    """Document defaults and Normal: 仿宋_GB2312 3号, fixed pitch, two-character indent, Chinese language."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, FANGSONG)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    set_fonts(normal.element.get_or_add_rPr(), FANGSONG)
    fmt = normal.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    fmt.widow_control = True
    first_line_chars(normal.element.get_or_add_pPr(), 2)


def setup_styles(doc) -> None:
    """The briefing's own styles (named in Chinese so staff find them in Word's style pane)."""
    center = WD_ALIGN_PARAGRAPH.CENTER
    masthead = paragraph_style(doc, "报头名称", font=XIAOBIAOSONG, size=MASTHEAD_PT, align=center, indent_chars=0,
                               exact=False, color=RED)
    masthead.paragraph_format.space_before = Pt(6)
    masthead.paragraph_format.space_after = Pt(14)
    issue = paragraph_style(doc, "报头期号", font=FANGSONG, align=center, indent_chars=0)
    issue.paragraph_format.space_after = Pt(14)
    office = paragraph_style(doc, "报头单位日期", font=FANGSONG, align=WD_ALIGN_PARAGRAPH.LEFT, indent_chars=0)
    office.paragraph_format.tab_stops.add_tab_stop(TYPE_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    bottom_border(office.element.get_or_add_pPr())
    title = paragraph_style(doc, "简报标题", font=XIAOBIAOSONG, size=TITLE_PT, align=center, indent_chars=0,
                            outline=0)
    title.paragraph_format.line_spacing = Pt(36)
    title.paragraph_format.space_before = LINE_PITCH
    title.paragraph_format.space_after = LINE_PITCH
    paragraph_style(doc, "一级标题", font=HEITI, indent_chars=2, keep_with_next=True, outline=1)
    paragraph_style(doc, "二级标题", font=KAITI, indent_chars=2, keep_with_next=True, outline=2)
    picture = paragraph_style(doc, "图片", align=center, indent_chars=0, exact=False, keep_with_next=True)
    picture.paragraph_format.space_before = Pt(6)
    paragraph_style(doc, "图表标题", font=HEITI, size=SMALL_PT, align=center, indent_chars=0, keep_with_next=True)
    for name, font in (("表格文字", FANGSONG), ("表头文字", HEITI)):
        cell = paragraph_style(doc, name, font=font, size=SMALL_PT, align=center, indent_chars=0)
        cell.paragraph_format.line_spacing = Pt(22)
    imprint = paragraph_style(doc, "版记", font=FANGSONG, size=SMALL_PT, align=WD_ALIGN_PARAGRAPH.LEFT,
                              indent_chars=0)
    imprint.paragraph_format.line_spacing = Pt(22)
    # one character in; a wrapped 报：/送：/发： line continues under its text, not under the label
    ind = imprint.element.get_or_add_pPr().get_or_add_ind()
    for attr in ("w:firstLine", "w:firstLineChars"):
        ind.attrib.pop(qn(attr), None)
    ind.set(qn("w:left"), str(3 * SMALL_PT * 20))
    ind.set(qn("w:hanging"), str(2 * SMALL_PT * 20))
    imprint.paragraph_format.tab_stops.add_tab_stop(TYPE_WIDTH - Pt(2 * SMALL_PT), WD_TAB_ALIGNMENT.RIGHT)
    anchor = paragraph_style(doc, "版记锚点", font=FANGSONG, size=1, indent_chars=0)
    anchor.paragraph_format.line_spacing = Pt(1)
    # off the line grid, or the 1 pt line takes a grid line and may start a page of its own
    off_grid(anchor)
    for name, font in (("附表文字", FANGSONG), ("附表表头", HEITI)):
        cell = paragraph_style(doc, name, font=font, size=ANNEX_PT, align=center, indent_chars=0)
        cell.paragraph_format.line_spacing = Pt(15)
        off_grid(cell)      # 15 pt lines, not the body's 22-line grid: the table fits one page
    annex = paragraph_style(doc, "附表标题", font=HEITI, indent_chars=0, keep_with_next=True)
    annex.paragraph_format.page_break_before = True     # the summary table on a page of its own
    page_number = paragraph_style(doc, "页码", font=SONGTI, size=SMALL_PT, indent_chars=0, exact=False)
    page_number.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def page_number_footer(footer, *, odd: bool) -> None:
    """`— PAGE —` in 4号 宋体: odd pages right, even pages left, one character in from the edge."""
    paragraph = footer.paragraphs[0]
    paragraph.style = "页码"
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT if odd else WD_ALIGN_PARAGRAPH.LEFT
    if odd:
        paragraph.paragraph_format.right_indent = Pt(SMALL_PT)
    else:
        paragraph.paragraph_format.left_indent = Pt(SMALL_PT)
    add_text(paragraph, "— ", font=SONGTI, size=SMALL_PT)
    number = add_text(paragraph, "1", font=SONGTI, size=SMALL_PT)
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), " PAGE ")
    number._r.addprevious(field)
    field.append(number._r)
    add_text(paragraph, " —", font=SONGTI, size=SMALL_PT)


def setup_footers(doc) -> None:
    doc.settings.odd_and_even_pages_header_footer = True
    section = doc.sections[0]
    page_number_footer(section.footer, odd=True)
    page_number_footer(section.even_page_footer, odd=False)


# ---- the package: fonts, properties, leftovers of python-docx's default template ---------------

# name -> (alternative name, panose-1, family, signature usb0..3 csb0..1), all charset 86 (GB2312).
# Values as Word and WPS write them for these faces; 小标宋 gets a Song panose so that, where it is
# missing, Word's panose matching lands on a Song face (宋体, the usual stand-in for 小标宋).
CJK_FONTS = {
    FANGSONG: ("仿宋", "02010609030101010101", "modern", "00000001 080E0000 00000000 00000000 00040000 00000000"),
    KAITI: ("楷体", "02010609030101010101", "modern", "00000001 080E0000 00000000 00000000 00040000 00000000"),
    HEITI: ("SimHei", "02010609060101010101", "auto", "800002BF 38CF7CFA 00000016 00000000 00040001 00000000"),
    SONGTI: ("SimSun", "02010600030101010101", "auto", "00000003 288F0000 00000006 00000000 00040001 00000000"),
    XIAOBIAOSONG: ("方正小标宋简体", "02010600030101010101", "auto",
                   "00000001 080E0000 00000000 00000000 00040000 00000000"),
}
JAPANESE_THEME_FONTS = ("ＭＳ 明朝", "ＭＳ ゴシック")   # python-docx's template was made by a Japanese Word
TEMPLATE_DATE = dt.datetime(2020, 9, 1, tzinfo=dt.timezone.utc)
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
EXTENDED = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"


def _w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def font_table(blob: bytes) -> bytes:
    """The template's fontTable.xml with the Chinese fonts declared and the Japanese ones dropped."""
    fonts = etree.fromstring(blob)
    for font in list(fonts):
        if font.get(_w("name")) in JAPANESE_THEME_FONTS or font.get(_w("name")) in CJK_FONTS:
            fonts.remove(font)
    for name, (alt, panose, family, signature) in CJK_FONTS.items():
        font = etree.SubElement(fonts, _w("font"), {_w("name"): name})
        for tag, value in (("altName", alt), ("panose1", panose), ("charset", "86"), ("family", family),
                           ("pitch", "default")):
            etree.SubElement(font, _w(tag), {_w("val"): value})
        keys = ("usb0", "usb1", "usb2", "usb3", "csb0", "csb1")
        etree.SubElement(font, _w("sig"), {_w(k): v for k, v in zip(keys, signature.split())})
    return etree.tostring(fonts, xml_declaration=True, encoding="UTF-8", standalone=True)


def app_properties() -> bytes:
    """docProps/app.xml naming this builder, without the statistics of another document."""
    root = etree.Element(f"{{{EXTENDED}}}Properties", nsmap={None: EXTENDED})
    for tag, value in (("Application", "xf-excel"), ("DocSecurity", "0"), ("ScaleCrop", "false"),
                       ("LinksUpToDate", "false"), ("SharedDoc", "false"), ("HyperlinksChanged", "false")):
        etree.SubElement(root, f"{{{EXTENDED}}}{tag}").text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _drop_relationships(part, reltype_suffix: str) -> None:
    """Drop a part by dropping the relationships to it: python-docx writes only the parts it
    can reach, and [Content_Types].xml from those."""
    for rid, rel in list(part.rels.items()):
        if rel.reltype.endswith(reltype_suffix):
            part.rels.pop(rid)


def tidy_package(doc) -> None:
    package = doc.part.package
    _drop_relationships(package, "/metadata/thumbnail")
    _drop_relationships(doc.part, "/stylesWithEffects")
    for part in package.iter_parts():
        # python-docx keeps parts it has no class for as plain bytes: replaced in place
        if part.partname == "/word/fontTable.xml":
            part._blob = font_table(part.blob)
        elif part.partname == "/docProps/app.xml":
            part._blob = app_properties()
    zoom = doc.settings.element.find(_w("zoom"))
    if zoom is not None:
        zoom.set(_w("percent"), "100")
    core = doc.core_properties
    core.title, core.author, core.comments = "工作简报模板", "xf-excel", ""
    core.created = core.modified = TEMPLATE_DATE
    core.revision = 1


# ---- content ----------------------------------------------------------------------------------

def para(doc, text: str = "", style: str = "Normal", *, font: str = FANGSONG, size: float = BODY_PT,
         color: RGBColor | None = None):
    paragraph = doc.add_paragraph(style=style)
    if text:
        add_text(paragraph, text, font=font, size=size, color=color)
    return paragraph


def tag(doc, text: str) -> None:
    """A paragraph holding only a docxtpl block tag ({%p … %}); docxtpl removes the paragraph."""
    doc.add_paragraph(text)


def heading(doc, key: str) -> None:
    para(doc, "{{ numbering.%s }}{{ headings.%s }}" % (key, key), "一级标题", font=HEITI)


def chart(doc, key: str) -> None:
    tag(doc, "{%%p if charts.%s %%}" % key)
    para(doc, "{{ charts.%s }}" % key, "图片")
    para(doc, "{{ captions.%s }}" % key, "图表标题", font=HEITI, size=SMALL_PT)
    tag(doc, "{%p endif %}")


def _table(doc, widths_mm: list[int], rows: list[list[tuple[str, str, str]]], size: float = SMALL_PT):
    """A centred grid table of fixed column widths (156 mm: the type area), header row repeated."""
    columns = [Mm(w) for w in widths_mm]
    table = doc.add_table(rows=len(rows), cols=len(columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, columns):
        column.width = width
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.width = columns[c]
            text, style, font = rows[r][c]
            paragraph = cell.paragraphs[0]
            paragraph.style = doc.styles[style]
            if text:
                add_text(paragraph, text, font=font, size=size)
    return table


def cities_table(doc, fields: tuple[str, ...], widths_mm: list[int]) -> None:
    """Header row, one templated row per city ({%tr for %}), and the region's total row."""
    n = len(fields)
    head = [("{{ cities.columns[%d] }}" % i, "表头文字", HEITI) for i in range(n)]
    blank = [("", "表格文字", FANGSONG)] * (n - 1)
    _table(doc, widths_mm, [
        head,
        [("{%tr for r in cities.rows %}", "表格文字", FANGSONG)] + blank,
        [("{{ r.%s }}" % f, "表格文字", FANGSONG) for f in fields],
        [("{%tr endfor %}", "表格文字", FANGSONG)] + blank,
        [("{{ cities.total.%s }}" % f, "表头文字", HEITI) for f in fields],
    ])


def cities_tables(doc) -> None:
    """By value (with each city's share), or, with city targets, by completion (with the target)."""
    tag(doc, "{%p if cities.by_target %}")
    cities_table(doc, ("name", "target", "value", "completion", "rank"), [32, 36, 40, 26, 22])
    tag(doc, "{%p else %}")
    cities_table(doc, ("name", "value", "share", "rank"), [40, 56, 32, 28])
    tag(doc, "{%p endif %}")


def led_paragraphs(doc, loop: str, lead: str, text: str) -> None:
    """One paragraph per item of `loop` (`s in next_steps`): an inline 楷体 lead-in, then its 仿宋 text."""
    tag(doc, "{%%p for %s %%}" % loop)
    paragraph = doc.add_paragraph(style="Normal")
    add_text(paragraph, "{{ %s }}" % lead, font=KAITI, size=BODY_PT)
    add_text(paragraph, "{{ %s }}" % text, font=FANGSONG, size=BODY_PT)
    tag(doc, "{%p endfor %}")


def next_steps(doc) -> None:
    """下一步工作, from the data: each item a lead-in heading and its text."""
    led_paragraphs(doc, "s in next_steps", "s.heading", "s.text")


def news(doc) -> None:
    """各地动态: each chosen item one paragraph, its unit's name as the lead-in."""
    led_paragraphs(doc, "n in news", "n.unit", "n.text")


# successors in CT_TblPr's schema order (Word rejects a table whose properties are out of order)
_AFTER_TBLBORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription",
                     "w:tblPrChange")


def _rules(table) -> None:
    """Thick rules above the first row and below the last, thin ones between, nothing vertical
    (whichever rows the template's loops leave)."""
    borders = OxmlElement("w:tblBorders")
    for edge, eighths in (("top", THICK_RULE), ("left", 0), ("bottom", THICK_RULE), ("right", 0),
                          ("insideH", THIN_RULE), ("insideV", 0)):
        line = OxmlElement(f"w:{edge}")
        line.set(qn("w:val"), "single" if eighths else "nil")
        if eighths:
            for key, value in (("w:sz", str(eighths)), ("w:space", "0"), ("w:color", "000000")):
                line.set(qn(key), value)
        borders.append(line)
    table._tbl.tblPr.insert_element_before(borders, *_AFTER_TBLBORDERS)


def imprint(doc) -> None:
    """版记: a one-column table of the 报/送/发 lines and the office-and-date line, thick rules
    first and last and thin ones between, right after the text. (Floated to the foot of the page,
    where GB/T 9704 places it, it makes LibreOffice add a blank page after it; in Word it can be
    moved down before printing.)"""
    rows = ["{%tr for l in tail.lines %}", "{{ l.label }}：{{ l.text }}", "{%tr endfor %}",
            "{{ tail.office }}\t{{ tail.date }}", "{%tr if tail.copies %}", "{{ tail.copies }}", "{%tr endif %}"]
    table = doc.add_table(rows=len(rows), cols=1)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    table.columns[0].width = TYPE_WIDTH
    for row, text in zip(table.rows, rows):
        cell = row.cells[0]
        cell.width = TYPE_WIDTH
        paragraph = cell.paragraphs[0]
        paragraph.style = doc.styles["版记"]
        if text == "{{ tail.copies }}":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        for i, part in enumerate(text.split("\t")):
            if i:
                paragraph.add_run().add_tab()
            if part:
                add_text(paragraph, part, font=FANGSONG, size=SMALL_PT)
    _rules(table)
    width = table._tbl.tblPr.find(qn("w:tblW"))
    width.set(qn("w:type"), "dxa")
    width.set(qn("w:w"), str(int(TYPE_WIDTH.twips)))
    # the body ends with a paragraph, not the table (Word would add one of body size, which can
    # spill onto a page of its own): a 1 pt one off the line grid
    doc.add_paragraph(style="版记锚点")


def masthead(doc) -> None:
    """The red masthead (name, issue, office and date over the red rule) and the title."""
    para(doc, "{{ masthead.title }}", "报头名称", font=XIAOBIAOSONG, size=MASTHEAD_PT, color=RED)
    para(doc, "{{ masthead.issue }}", "报头期号")
    office = para(doc, "{{ masthead.office }}", "报头单位日期")
    office.add_run().add_tab()
    add_text(office, "{{ masthead.date }}", font=FANGSONG, size=BODY_PT)
    para(doc, "{{ title }}", "简报标题", font=XIAOBIAOSONG, size=TITLE_PT)


def subsections(doc, items: str, *, optional_heading: bool = False) -> None:
    """A list of {heading, text}: each a 楷体 （一） heading and its paragraph."""
    tag(doc, "{%%p for p in %s %%}" % items)
    if optional_heading:
        tag(doc, "{%p if p.heading %}")
    para(doc, "{{ p.heading }}", "二级标题", font=KAITI)
    if optional_heading:
        tag(doc, "{%p endif %}")
    para(doc, "{{ p.text }}")
    tag(doc, "{%p endfor %}")


def cities_section(doc) -> None:
    """各市进展: the ranking sentence, the table and its chart (left out without a ranking)."""
    tag(doc, "{%p if cities %}")
    heading(doc, "cities")
    para(doc, "{{ cities.sentence }}")
    para(doc, "{{ cities.caption }}", "图表标题", font=HEITI, size=SMALL_PT)
    cities_tables(doc)
    chart(doc, "ranking")
    tag(doc, "{%p endif %}")


def trend_section(doc) -> None:
    """进展趋势: the figures period by period and the trend chart (from the second period on)."""
    tag(doc, "{%p if trend %}")
    heading(doc, "trend")
    para(doc, "{{ trend.text }}")
    chart(doc, "trend")
    tag(doc, "{%p endif %}")


def build_content(doc) -> None:
    masthead(doc)

    heading(doc, "overview")
    para(doc, "{{ overview }}")
    chart(doc, "progress")

    heading(doc, "activities")
    tag(doc, "{%p for s in activities %}")
    para(doc, "{{ s.heading }}", "二级标题", font=KAITI)
    para(doc, "{{ s.text }}")
    tag(doc, "{%p endfor %}")

    cities_section(doc)

    trend_section(doc)

    tag(doc, "{%p if news %}")
    heading(doc, "news")
    news(doc)
    tag(doc, "{%p endif %}")

    heading(doc, "problems")
    subsections(doc, "problems", optional_heading=True)

    heading(doc, "next_steps")
    next_steps(doc)
    imprint(doc)


SUMMARY_TABLE_FIELDS = ("activity", "indicator", "target", "value", "completion", "result")


def summary_table(doc) -> None:
    """附表: every target of the plan, its final figure and whether it was met, on a page of its
    own in 5号 (a row never split across pages)."""
    para(doc, "附表", "附表标题", font=HEITI)
    para(doc, "{{ table.caption }}", "图表标题", font=HEITI, size=SMALL_PT)
    n = len(SUMMARY_TABLE_FIELDS)
    blank = [("", "附表文字", FANGSONG)] * (n - 1)
    table = _table(doc, [30, 46, 20, 24, 18, 18], [
        [("{{ table.columns[%d] }}" % i, "附表表头", HEITI) for i in range(n)],
        [("{%tr for r in table.rows %}", "附表文字", FANGSONG)] + blank,
        [("{{ r.%s }}" % f, "附表文字", FANGSONG) for f in SUMMARY_TABLE_FIELDS],
        [("{%tr endfor %}", "附表文字", FANGSONG)] + blank,
    ], size=ANNEX_PT)
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    note = para(doc, "{{ table.note }}", "附表文字", font=FANGSONG, size=ANNEX_PT)
    note.alignment = WD_ALIGN_PARAGRAPH.LEFT
    note.paragraph_format.space_before = Pt(4)


def build_summary_content(doc) -> None:
    """The campaign-end report: the same masthead and sections as the briefing, the plan's
    targets quoted activity by activity, the units that did most, what was not met, and the
    one-page table of every target before the 版记."""
    masthead(doc)
    para(doc, "{{ overview }}")
    chart(doc, "progress")

    heading(doc, "activities")
    tag(doc, "{%p for s in activities %}")
    para(doc, "{{ s.heading }}", "二级标题", font=KAITI)
    tag(doc, "{%p if s.plan %}")
    para(doc, "{{ s.plan }}")
    tag(doc, "{%p endif %}")
    para(doc, "{{ s.text }}")
    tag(doc, "{%p endfor %}")

    cities_section(doc)
    tag(doc, "{%p if leaders %}")
    para(doc, "{{ leaders }}")
    tag(doc, "{%p endif %}")

    trend_section(doc)

    tag(doc, "{%p if practices %}")
    heading(doc, "practices")
    led_paragraphs(doc, "n in practices", "n.unit", "n.text")
    tag(doc, "{%p endif %}")

    tag(doc, "{%p if unmet %}")
    heading(doc, "unmet")
    subsections(doc, "unmet", optional_heading=True)
    tag(doc, "{%p endif %}")

    heading(doc, "next_steps")
    next_steps(doc)
    summary_table(doc)
    imprint(doc)


def build(out: Path, content=build_content) -> Path:
    """Write the template (`build_content`: the briefing; `build_summary_content`: the
    campaign-end report) to `out` and return it."""
    doc = Document()
    setup_page(doc)
    setup_defaults(doc)
    setup_styles(doc)
    setup_footers(doc)
    # python-docx's default document starts empty except for sectPr; content follows.
    content(doc)
    tidy_package(doc)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--summary"]
    here = Path(__file__).resolve().parent
    if args:
        print(build(Path(args[0]), build_summary_content if "--summary" in sys.argv else build_content))
    else:
        print(build(here / "briefing.docx", build_content))
        print(build(here / "summary.docx", build_summary_content))
