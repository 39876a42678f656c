"""How a value is written in the files a council gives: the one grammar of whole numbers, numbers, dates and
dates with times, which the readers (a return's dates, kpi.readers.statutory) and the row checks (kpi.checks)
both read by, so that a value one takes the other takes too."""

# What each type accepts, written out (RE2, as DuckDB's regexp functions read them): a database's cast takes far more
# (TRY_CAST rounds 5.5 to 6 and reads 0x1F as 31, 1e2, 1_000, inf and nan; a date cast takes '-infinity', 'epoch',
# 2024/01/05 and drops a time of day), and each of those would load a value the file did not mean. Spaces and tabs
# around a number or date are not part of it (Arrow's typed read skips them too, kpi.readers.standard.ARROW_TYPES).
_PAD = r"[ \t]*"
INT_RE = _PAD + r"[+-]?[0-9]+(\.0*)?" + _PAD  # 5.0 is 5: a whole number written by a spreadsheet as a number
FLOAT_RE = _PAD + r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?" + _PAD
# A date may carry a midnight time, as spreadsheets and databases export dates (05/01/2024 00:00, 2024-01-05
# 00:00:00.000); any other time of day is not a date. The date itself is the first group.
_MIDNIGHT = r"(?:[ T]00:00(?::00(?:\.0+)?)?)?"
ISO_DATE_RE = "^" + _PAD + r"([0-9]{4}-[0-9]{2}-[0-9]{2})" + _MIDNIGHT + _PAD + "$"
UK_DATE_RE = "^" + _PAD + r"([0-9]{1,2}/[0-9]{1,2}/[0-9]{4})" + _MIDNIGHT.replace("[ T]", " ") + _PAD + "$"
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"  # a date alone is its midnight
ISO_DATETIME_RE = "^" + _PAD + r"([0-9]{4}-[0-9]{2}-[0-9]{2}" + _TIME + ")" + _PAD + "$"
UK_DATETIME_RE = "^" + _PAD + r"([0-9]{1,2}/[0-9]{1,2}/[0-9]{4}" + _TIME.replace("[ T]", " ") + ")" + _PAD + "$"
