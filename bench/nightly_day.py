"""The nightly case's new daily file: the log's last day again, one day later (the same
customers buy again; order ids get a suffix, so no line repeats one of the log's).

    nightly_day.py LOG OUT.csv

Reads only the log's tail (a generated log is in date order)."""
import datetime, os, sys

log, out = sys.argv[1], sys.argv[2]
with open(log, "rb") as f:
    header = f.readline()
    size = os.fstat(f.fileno()).st_size
    back = 1 << 20
    while True:  # read back from the end until the tail holds a line of an earlier day
        f.seek(max(len(header), size - back))
        lines = f.read().split(b"\n")[1:]
        lines = [l for l in lines if l]
        dates = [l.split(b",")[2] for l in lines]
        if dates[0] != dates[-1] or size - back <= len(header):
            break
        back *= 2
last = dates[-1]
day = (datetime.date.fromisoformat(last.decode()) + datetime.timedelta(days=1)).isoformat().encode()
with open(out, "wb") as o:
    o.write(header)
    for l, d in zip(lines, dates):
        if d == last:
            fields = l.split(b",")
            fields[0] += b"-next"
            fields[2] = day
            o.write(b",".join(fields) + b"\n")
