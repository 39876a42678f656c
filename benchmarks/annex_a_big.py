"""A large Annex A workbook, for timing the reader: Lists 1 and 3 of synthetic rows that repeat, so the file is
small and expands to many rows (councils' workbooks formatted or filled down to the sheet's end do the same).

    .venv/bin/python benchmarks/annex_a_big.py /tmp/big.xlsx --rows 1500000
    /usr/bin/time -v .venv/bin/kpi load --format annex-a /tmp/big.xlsx --store /tmp/big.duckdb --extract-date 2024-03-01

The sheets' XML is written directly (openpyxl would take minutes to write a million rows).
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age"]
LISTS = {
    "List 1": COMMON + ["Date of Contact", "Contact Source"],
    "List 3": COMMON
    + [
        "Date of Referral",
        "Referral Source",
        "Referral NFA?",
        "Number of Referrals in Last 12 Months",
        "Allocated Team",
        "Allocated Worker",
    ],
}
TEXT = ["b) Female", "a) Male", "a) WBRI", "k) APKN", "q) 6: Police", "e) 2A: Schools", "No", "Duty", "A N Other"]
TEXT += [h for cols in LISTS.values() for h in cols]
S = {t: i for i, t in enumerate(dict.fromkeys(TEXT))}


def _cell(col: int, row: int, v) -> str:
    ref = f"{chr(65 + col)}{row}"
    if isinstance(v, str):
        return f'<c r="{ref}" t="s"><v>{S[v]}</v></c>'
    if isinstance(v, tuple):  # a date: its serial number, in the date style
        return f'<c r="{ref}" s="1"><v>{v[0]}</v></c>'
    return f'<c r="{ref}"><v>{v}</v></c>'


def _sheet(f, header: list[str], rows: int, first: int) -> None:
    f.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/')
    f.write(b'spreadsheetml/2006/main"><sheetData>')
    f.write(('<row r="1">' + "".join(_cell(c, 1, h) for c, h in enumerate(header)) + "</row>").encode())
    for i in range(rows):
        r = i + 2
        child = first + (i % 5000 if len(header) == 7 else i)  # a referral's id is its child and date
        gender = ("b) Female", "a) Male")[i % 2]
        ethnic = ("a) WBRI", "k) APKN")[i % 3 == 0]
        base = [child, gender, ethnic, (40000 + i % 3000,), 9, (45200 + i % 150,)]
        if len(header) == 7:
            values = base + [("q) 6: Police", "e) 2A: Schools")[i % 2]]
        else:
            values = base + ["q) 6: Police", "No", i % 3, "Duty", "A N Other"]
        f.write((f'<row r="{r}">' + "".join(_cell(c, r, v) for c, v in enumerate(values)) + "</row>").encode())
    f.write(b"</sheetData></worksheet>")


def write(path: Path, rows: int) -> Path:
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    names = list(LISTS)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" ContentType="{ct}.worksheet+xml"/>'
                for i in range(len(names))
            )
            + "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        z.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
            + "".join(f'<sheet name="{n}" sheetId="{i + 1}" r:id="rId{i + 1}"/>' for i, n in enumerate(names))
            + "</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{pkg}">'
            + "".join(
                f'<Relationship Id="rId{i + 1}" Type="{rel}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                for i in range(len(names))
            )
            + f'<Relationship Id="rId{len(names) + 1}" Type="{rel}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{len(names) + 2}" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/styles.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{main}"><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/>'
            '</cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
            '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
        )
        z.writestr(
            "xl/sharedStrings.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" count="{len(S)}" uniqueCount="{len(S)}">'
            + "".join(f"<si><t>{t}</t></si>" for t in S)
            + "</sst>",
        )
        shares = {"List 1": rows * 2 // 3, "List 3": rows - rows * 2 // 3}
        for i, n in enumerate(names):
            with z.open(f"xl/worksheets/sheet{i + 1}.xml", "w", force_zip64=True) as f:
                _sheet(f, LISTS[n], shares[n], 100000 * (i + 1))
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--rows", type=int, default=1_500_000, help="rows over the two lists (default 1,500,000)")
    a = p.parse_args()
    write(a.out, a.rows)
    print(f"{a.out}: {a.rows:,} rows, {a.out.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
