"""Reports (issue #10): pure builders over rows of the History, no Flask and no SQL here.

clerks.py the monthly ranking (計點), waits.py waits per service, lane and hour, satisfaction.py
the month's ratings with trend and growth, day.py the day's visits per counter, live.py the
supervisor's floor, erlang.py Erlang C advice, export.py CSV and XLSX, charts.py SVG charts,
periods.py months, days and the ROC calendar.
"""
