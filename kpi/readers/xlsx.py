"""An xlsx workbook read sheet by sheet, each sheet's rows streamed from its XML: a large workbook is never held
whole (a sheet formatted or filled down to a million rows costs time, not memory).

An xlsx is a zip of XML parts: the workbook (its sheets' names and whether they are hidden), each sheet's
rows, the strings the sheets share and the cell styles (which say that a number is a date). lxml reads
them with entities left unexpanded; openpyxl's published helpers tell date formats and convert Excel's
serial numbers. A cell's value is what Excel shows: text, a number, a date, True/False, or an error such
as ``#REF!``; a formula saved without its value (a workbook written by a program and never calculated by
Excel) is a :class:`Formula`. A file that is not an xlsx workbook, or a damaged one, is a LoadError that
says what the file is.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from ..errors import LoadError

# what parsing a damaged workbook raises: a broken zip, XML or value in a part
DAMAGED = (zipfile.BadZipFile, zlib.error, KeyError, etree.XMLSyntaxError, EOFError, OSError, ValueError, IndexError)


class Formula(str):
    """A formula cell saved without its value: ``=DATE(2024,2,5)``."""


@dataclass
class Sheet:
    name: str
    part: str  # the sheet's XML in the zip
    hidden: bool


def column_of(ref: str) -> int:
    """The column of a cell reference, from 0: ``AB12`` is 27."""
    n = 0
    for ch in ref:
        if ch.isdigit():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


def cell_ref(col: int, row: int) -> str:
    """A cell's reference from its column (from 0) and row: ``AB12``."""
    letters = ""
    col += 1
    while col:
        col, r = divmod(col - 1, 26)
        letters = chr(65 + r) + letters
    return f"{letters}{row}"


class Workbook:
    """An xlsx workbook's worksheets (:attr:`sheets`, in the workbook's order), each read row by row
    (:meth:`rows`); :attr:`not_worksheets`: the names of its chart sheets and the like."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = _open(path)
        try:
            self._structure()
        except DAMAGED as e:
            raise LoadError(f"{path}: a damaged xlsx workbook ({type(e).__name__}: {e})") from None

    def rows(self, sheet: Sheet, merged: list[str]) -> Iterator[tuple[int, dict[int, object]]]:
        """Each row holding a cell: its number and its cells' values by column (from 0). The sheet's merged
        ranges (``A5:A7``) are added to ``merged`` once its rows are read."""
        try:
            parse = etree.iterparse(
                self.zip.open(sheet.part), tag=("{*}row", "{*}mergeCell"), resolve_entities=False, huge_tree=True
            )
            number = 0
            for _, el in parse:
                if el.tag.endswith("mergeCell"):
                    merged.append(el.get("ref", ""))
                    continue
                ns = el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""
                number = int(el.get("r") or number + 1)
                cells, col = {}, -1
                for c in el:
                    ref = c.get("r")
                    col = column_of(ref) if ref else col + 1
                    v = self._value(c, ns)
                    if v is not None:
                        cells[col] = v
                el.clear()  # the rows read are let go: memory stays flat however long the sheet
                while el.getprevious() is not None:
                    del el.getparent()[0]
                yield number, cells
        except DAMAGED as e:
            raise LoadError(f"{self.path.name}, sheet {sheet.name!r}: damaged ({type(e).__name__}: {e})") from None

    def _value(self, c, ns: str):
        """A cell's value as Excel shows it."""
        t = c.get("t")
        v = c.findtext(ns + "v")
        if v is None or (v == "" and t != "str"):  # no value (a program writes a formula's as <v></v>)
            if t == "inlineStr":
                return _unescape("".join(c.itertext()))
            f = c.find(ns + "f")
            return None if f is None else Formula("=" + (f.text or ""))
        if t == "s":
            return self.strings[int(v)]
        if t is None or t == "n":
            n = float(v)
            if int(c.get("s") or 0) in self.date_styles:
                try:
                    return from_excel(n, self.epoch)
                except (OverflowError, ValueError):  # no date: the number as it is
                    pass
            return int(n) if n.is_integer() and abs(n) < 2**53 else n
        if t == "b":
            return v.strip() in ("1", "true")
        if t == "d":
            return from_ISO8601(v)
        return v  # "str" (a formula's text), "e" (an error: #REF!, #N/A)

    def _xml(self, part: str):
        return etree.parse(self.zip.open(part), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """A part's relationships: id -> (type, the target part)."""
        folder, name = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", name + ".rels")
        if rels not in self.zip.namelist():
            return {}
        out = {}
        for r in self._xml(rels):
            target = r.get("Target", "")
            target = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
            out[r.get("Id")] = (r.get("Type", "").rsplit("/", 1)[-1], target)
        return out

    def _structure(self) -> None:
        """The sheets, shared strings, date styles and date system, from the workbook's parts."""
        names = set(self.zip.namelist())
        main = next((t for kind, t in self._rels("").values() if kind == "officeDocument"), "xl/workbook.xml")
        if main not in names:
            raise LoadError(f"{self.path}: {_what_zip(names)}")
        wb = self._xml(main)
        rels = self._rels(main)
        pr = next(wb.iterfind("{*}workbookPr"), None)
        mac = pr is not None and pr.get("date1904") in ("1", "true")
        self.epoch = CALENDAR_MAC_1904 if mac else CALENDAR_WINDOWS_1900
        self.sheets, self.not_worksheets = [], []
        for s in wb.iterfind("{*}sheets/{*}sheet"):
            rid = next((v for k, v in s.attrib.items() if k.endswith("}id")), None)  # r:id, in either namespace
            kind, part = rels.get(rid, ("", ""))
            if kind == "worksheet" and part not in names:
                raise LoadError(f"{self.path}: a damaged xlsx workbook: sheet {s.get('name')!r} has no {part}")
            if kind == "worksheet":
                self.sheets.append(Sheet(s.get("name"), part, s.get("state") in ("hidden", "veryHidden")))
            else:
                self.not_worksheets.append(s.get("name"))
        self.strings = []
        self.date_styles = set()
        for kind, part in rels.values():
            if kind == "sharedStrings" and part in names:
                for _, si in etree.iterparse(self.zip.open(part), tag="{*}si", resolve_entities=False):
                    runs = si.findall("{*}t") + si.findall("{*}r/{*}t")  # plain text, or rich text's runs
                    self.strings.append(_unescape("".join(t.text or "" for t in runs)))
                    si.clear()
            elif kind == "styles" and part in names:
                st = self._xml(part)
                custom = {int(f.get("numFmtId")): f.get("formatCode") for f in st.iterfind("{*}numFmts/{*}numFmt")}
                for i, xf in enumerate(st.iterfind("{*}cellXfs/{*}xf")):
                    fid = int(xf.get("numFmtId", 0))
                    # 27-36 and 50-58: dates in the formats of East Asian versions of Excel
                    if is_date_format(custom.get(fid, BUILTIN_FORMATS.get(fid))) or 27 <= fid <= 36 or 50 <= fid <= 58:
                        self.date_styles.add(i)


def _unescape(s: str) -> str:
    """Characters Excel writes as ``_x000D_``."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), s) if "_x" in s else s


def _open(path: Path) -> zipfile.ZipFile:
    """The workbook's zip, or a LoadError saying what the file is instead."""
    if not path.exists():
        raise LoadError(f"{path}: no such file")
    if path.is_dir():
        raise LoadError(f"{path}: a directory; give the workbook (.xlsx) itself")
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as e:
        raise LoadError(f"{path}: cannot be read ({e.strerror})") from None
    if not head:
        raise LoadError(f"{path}: an empty file (0 bytes), not an xlsx workbook")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # an OLE2 compound file, which names its streams
        if "EncryptedPackage".encode("utf-16-le") in path.read_bytes():
            raise LoadError(f"{path}: a password-protected (encrypted) workbook: save a copy without a password")
        raise LoadError(f"{path}: an Excel 97-2003 workbook (.xls): open it in Excel and save it as .xlsx")
    if not head.startswith(b"PK"):
        raise LoadError(f"{path}: {_what_bytes(head)}")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise LoadError(f"{path}: a damaged xlsx workbook: not a complete zip file ({e})") from None


def _what_bytes(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] == b"<":
        return (
            "an HTML or XML file, not an xlsx workbook (some systems export one as .xls): save it from Excel as .xlsx"
        )
    if b"\0" in text or sum(b < 9 or 13 < b < 32 for b in text) > len(text) // 20:
        return "not an xlsx workbook, nor a kind of file the reader knows"
    return "a text file (a CSV named .xlsx?), not an xlsx workbook: open it in Excel and save it as .xlsx"


def _what_zip(names: set[str]) -> str:
    if "xl/workbook.bin" in names:
        return "an Excel binary workbook (.xlsb): open it in Excel and save it as .xlsx"
    if "content.xml" in names:
        return "an OpenDocument file (.ods): save it as .xlsx"
    if any(n.startswith("word/") for n in names):
        return "a Word document, not an xlsx workbook"
    return "a zip archive, not an xlsx workbook (it has no xl/workbook.xml)"
