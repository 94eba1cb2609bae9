"""Reading codex-login.log (or any eliot log) back for support: `codex login log` and the bundle.

tree     action trees from the JSON lines (the streaming reader; every field scrubbed)
select   which runs: --failed, --last, --task, --since/--until, --grep
text     the tree as text, and --format text (the reference CLI's tracing lines)
summary  --summary: one line per run
json     --json: one object per run
render   the whole rendering: select, then one of the views above, to a stream
follow   --follow: a run shown live while it is written
har      --har: a browser's HAR merged into the matching run's timeline

No eliot here (the log is read as plain JSON), no printing (the callers own their streams).
"""
