"""spawnlab_report: render a spawnlab result.json (scripts/report) and compare
two results (scripts/diff).  Uses Debian's python3-jsonschema, python3-jinja2
and python3-matplotlib; the C driver never needs any of it."""
