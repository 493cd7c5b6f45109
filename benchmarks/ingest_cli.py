"""Case 1c: the ingest as a user runs it: ``tsplatform upload FILE`` then ``tsplatform ingest``.

Both commands run as subprocesses of this job, each in an isolated data folder, Dagster home and
warehouse (a fresh DuckDB file, or a throwaway PostgreSQL database), timed end to end: interpreter
start-up, imports, Dagster's bookkeeping and the process exit included. Each command's stages
come from the ingest code's own timing (``--timings FILE``, ``tsplatform.ingest.timings``), its
peak RSS from ``wait4``. First load of the 1,000,300-line upload, then the 10%-changed correction
(``prepare``/``corrected_copy`` of case 1; exactly the changed keys must get version 2).

Baselines in the same run:

* the database's own bulk load of the same rows into a keyed table: DuckDB ``CREATE TABLE ...
  PRIMARY KEY (date, product_id, category)`` + ``INSERT INTO ... SELECT * FROM read_csv(...)``;
  PostgreSQL ``COPY ... FROM STDIN (FORMAT csv)`` into the same keyed table. A keyed table refuses
  the upload's repeated keys and its unparsable lines (what the ingest quarantines or sums), so
  both load the file's clean rows (the first line of each key, the lines whose date and sales
  parse: 1,000,002 of 1,000,300), written once to their own CSV file, untimed;
* the row-at-a-time worker (``baseline_orm``) on the first ``baseline_rows`` lines;
* for ``tsplatform upload``: a plain copy and SHA-256 of the file as two passes
  (``shutil.copyfile`` + ``hashlib``, 1 MiB reads) in a new Python process, as ``cp`` and
  ``sha256sum`` would be.

Scaling: the DuckDB two-command path at 10k, 100k, 1M and 5M rows (``--quick``: toy sizes), rows/s
and the peak RSS of ``tsplatform ingest`` per size, against DuckDB's keyed bulk load of each size:
its time in this job, and its peak RSS in a new process doing nothing else (what the database itself
needs for those rows: at 5M rows most of a gigabyte, for its primary-key index and the commit).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import baseline_orm
from benchmarks.common import (
    Sizes,
    head_of_csv,
    postgres_available,
    sales_csv,
    throwaway_postgres,
    work_folder,
)
from benchmarks.ingest import prepare
from benchmarks.report import Figure, throughput

CASE = "1c ingest as run"
SCALING_CASE = "1c ingest as run: scaling"
MAX_RATIO_DUCKDB = 2.5  # upload + ingest within 2.5x DuckDB's keyed bulk load
MAX_RATIO_POSTGRES = 3.0  # within 3x of a keyed COPY
MIN_RATIO_ROW_WORKER = 100
MAX_UPLOAD_RATIO = 2.0  # tsplatform upload within 2x copy + SHA-256
MEMORY_LIMIT_MB = 1024
# the stages as printed: (label, stage names of the --timings reports that make it up)
# upload: the warehouse opens in a thread during the copy, and the hash look-up happens inside "hash
# and copy" (once the digest is known), so its stages overlap: "hash and copy" is the critical path
UPLOAD_STAGES = [("start-up", ["start-up"]), ("hash and copy (with the look-up)", ["hash and copy"]),
                 ("of which: open warehouse, in a thread beside the copy", ["open warehouse"]),
                 ("of which: look up the hash", ["look up the hash"])]
INGEST_STAGES = [("start-up (interpreter)", ["start-up"]),
                 ("dagster imports + definitions", ["dagster: imports and definitions"]),
                 ("dagster instance", ["dagster: instance"]), ("hash and register", ["hash and register"]),
                 ("read", ["read"]), ("validate", ["validate"]), ("impute", ["impute"]), ("merge", ["merge"]),
                 ("write", ["write"]), ("accounting", ["accounting"]),
                 ("open warehouse + print the table", ["open warehouse", "report"]),
                 ("dagster bookkeeping", ["dagster bookkeeping"])]
# 10 categories x products x days; the messy lines as case 1 (300 per million)
SCALING_SHAPES = {10_000: (20, 50, 3), 100_000: (200, 50, 30), 1_000_000: (200, 500, 300), 5_000_000: (1000, 500, 1500)}
QUICK_SCALING_SHAPES = {size: SCALING_SHAPES[size] for size in (10_000, 100_000, 1_000_000)}  # --quick stops at 1M


def run(sizes: Sizes, backend: str) -> list[Figure]:
    if backend == "postgres" and (problem := postgres_available()):
        return [Figure(CASE, "postgres", None, note=f"skipped: {problem}")]
    original, corrected, expected_updates = prepare(sizes)
    root = Path(tempfile.mkdtemp(prefix=f"ingest-cli-{backend}-", dir=work_folder()))
    try:
        clean = clean_rows(original)
        worker = _row_worker(backend, original, root, sizes.baseline_rows)
        rounds = []
        for number in range(sizes.ingest_rounds):  # each baseline right before the round it is compared with
            bulk, copy_hash = _bulk_load(backend, clean), _copy_and_hash(original, root)
            rounds.append({**_two_rounds(backend, root / f"round_{number}", original, corrected),
                           "bulk": bulk, "copy_hash": copy_hash})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return _figures(backend, rounds, worker, expected_updates)


def run_scaling(sizes: Sizes) -> list[Figure]:
    """The DuckDB two-command first load at each size: rows/s, peak RSS of each command."""
    figures = []
    shapes = QUICK_SCALING_SHAPES if sizes.quick else SCALING_SHAPES
    root = Path(tempfile.mkdtemp(prefix="ingest-cli-scaling-", dir=work_folder()))
    try:
        for rows, (products, days, messy) in shapes.items():
            source = sales_csv(work_folder(), products, days, messy)
            bulk = _bulk_load("duckdb", clean_rows(source))
            first = _first_load("duckdb", root / f"rows_{rows}", source)
            seconds = first["upload"]["wall"] + first["ingest"]["wall"]
            total = first["counts"]
            ingest_mb, upload_mb = first["ingest"]["peak_mb"], first["upload"]["peak_mb"]
            figures.append(Figure(
                SCALING_CASE, f"{rows:,} rows: upload + ingest rows/s", total / seconds, "rows/s",
                baseline=total / bulk, baseline_label="DuckDB keyed bulk load", ratio=bulk / seconds,
                target=f">= {1 / MAX_RATIO_DUCKDB:g}x", met=seconds <= MAX_RATIO_DUCKDB * bulk,
                note=f"{total:,} lines in {seconds:.2f} s (upload {first['upload']['wall']:.2f} s, ingest "
                     f"{first['ingest']['wall']:.2f} s); DuckDB bulk load {bulk:.2f} s; peak RSS ingest "
                     f"{ingest_mb:.0f} MB, upload {upload_mb:.0f} MB",
            ))
            bulk_mb = _bulk_load_peak_mb(clean_rows(source), root)
            figures.append(Figure(SCALING_CASE, f"{rows:,} rows: peak RSS of tsplatform ingest", ingest_mb, "MB",
                                  baseline=bulk_mb, baseline_label="DuckDB keyed bulk load, new process",
                                  ratio=bulk_mb / ingest_mb, target=f"< {MEMORY_LIMIT_MB / 1024:g} GB",
                                  met=ingest_mb < MEMORY_LIMIT_MB,
                                  note=f"the database alone, loading the same rows into its keyed table, peaks at "
                                       f"{bulk_mb:.0f} MB (its primary-key index and the commit)"))
            shutil.rmtree(root / f"rows_{rows}", ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return figures


# --- the two commands --------------------------------------------------------------------------------


def _two_rounds(backend: str, folder: Path, original: Path, corrected: Path) -> dict:
    """First load, then the correction, in one fresh environment; the versions afterwards."""
    if backend == "postgres":
        with throwaway_postgres() as url:
            return _load_and_correct(folder, url, original, corrected)
    return _load_and_correct(folder, f"duckdb:///{folder / 'warehouse.duckdb'}", original, corrected)


def _first_load(backend: str, folder: Path, source: Path) -> dict:
    url = f"duckdb:///{folder / 'warehouse.duckdb'}"
    return _both_commands(_environment(folder, url), folder, source)


def _load_and_correct(folder: Path, url: str, original: Path, corrected: Path) -> dict:
    environment = _environment(folder, url)
    first = _both_commands(environment, folder, original)
    correction = _both_commands(environment, folder, corrected)
    return {"first": first, "correction": correction, "versions": _versions(url)}


def _environment(folder: Path, url: str) -> dict[str, str]:
    (folder / "dagster_home").mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "TSPLATFORM_DATA_DIR": str(folder / "data"),
                   "DAGSTER_HOME": str(folder / "dagster_home"), "TSPLATFORM_WAREHOUSE_URL": url}
    environment.pop("TSPLATFORM_MAX_UPLOAD_BYTES", None)
    return environment


def _both_commands(environment: dict[str, str], folder: Path, source: Path) -> dict:
    upload = _command(["upload", str(source)], environment, folder / "upload.json")
    ingest = _command(["ingest", "--format", "json"], environment, folder / "ingest.json")
    batches = json.loads(ingest["stdout"])
    if len(batches) != 1 or batches[0]["status"] != "completed":
        raise RuntimeError(f"tsplatform ingest did not complete one batch: {ingest['stdout'][:500]}")
    ingest["batch"] = batches[0]
    return {"upload": upload, "ingest": ingest, "counts": int(batches[0]["num_total_rows"])}


def _command(arguments: list[str], environment: dict[str, str], timings: Path) -> dict:
    """Run ``tsplatform ARGUMENTS --timings FILE``: wall seconds, peak RSS (MB), its stages."""
    # TSPLATFORM_BENCH_NO_TIMINGS=1: for a tree whose commands have no --timings (the figures before it)
    plain = os.environ.get("TSPLATFORM_BENCH_NO_TIMINGS") == "1"
    command = [_tsplatform(), *arguments, *([] if plain else ["--timings", str(timings)])]
    measured = timings.with_suffix(".rusage.json")
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        launcher = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(measured), *command], env=environment,
                                  stdout=stdout, stderr=stderr, check=False)
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
    usage = json.loads(measured.read_text()) if measured.exists() else {"code": launcher.returncode}
    if usage["code"] != 0:
        raise RuntimeError(f"{' '.join(command[1:3])} exited {usage['code']}: {errors[-2000:]}")
    report = {"stages": {}} if plain else json.loads(timings.read_text())
    return {"wall": usage["wall"], "peak_mb": usage["maxrss_kb"] / 1024, "stages": report["stages"],
            "total": report.get("total"), "peak_after": report.get("peak_rss_mb_after", {}), "stdout": output}


# Started by this job, it starts the command and waits for it: wall time and peak RSS from wait4. A
# child's peak RSS counts the memory of the process that forked it (Linux keeps the high-water mark
# across exec), so the command is started from this small interpreter, not from the job's (~200 MB).
_LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump({"wall": wall, "maxrss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}, out)
"""


def _tsplatform() -> str:
    """The console script a user runs, beside this interpreter (the project's venv)."""
    script = Path(sys.executable).parent / "tsplatform"
    return str(script) if script.exists() else (shutil.which("tsplatform") or "tsplatform")


def _versions(url: str) -> dict[int, int]:
    sql = "SELECT version, count(*) FROM invoice_data GROUP BY version"
    if url.startswith("duckdb:///"):
        import duckdb

        with duckdb.connect(url.removeprefix("duckdb:///"), read_only=True) as connection:
            return dict(connection.execute(sql).fetchall())
    import psycopg

    with psycopg.connect(url) as connection:
        return dict(connection.execute(sql).fetchall())


# --- baselines -----------------------------------------------------------------------------------------


def clean_rows(source: Path) -> Path:
    """The rows of ``source`` a keyed table takes: date and sales parse (empty sales: NULL), first
    line of each key. Written once beside the file (cached), as CSV with a header."""
    target = source.with_name(source.stem + ".clean.csv")
    if target.exists():
        return target
    import duckdb

    temporary = target.with_suffix(".tmp")
    with duckdb.connect() as connection:
        connection.execute(
            f"""COPY (SELECT * FROM read_csv('{source}', header = true, ignore_errors = true,
                       columns = {{'date': 'DATE', 'product_id': 'VARCHAR', 'category': 'VARCHAR', 'sales': 'DOUBLE'}})
                     QUALIFY row_number() OVER (PARTITION BY date, product_id, category) = 1)
                TO '{temporary}' (FORMAT csv, HEADER true)"""
        )
    temporary.replace(target)
    return target


_KEYED_TABLE = ("CREATE TABLE bulk_invoices (date DATE, product_id VARCHAR, category VARCHAR, sales DOUBLE PRECISION, "
                "PRIMARY KEY (date, product_id, category))")


def _bulk_load(backend: str, clean: Path) -> float:
    """Seconds of the database's own keyed bulk load of ``clean``: connect, create, load, commit."""
    if backend == "postgres":
        import psycopg

        with throwaway_postgres() as url:
            started = time.perf_counter()
            with psycopg.connect(url) as connection:
                connection.execute(_KEYED_TABLE)
                with connection.cursor().copy("COPY bulk_invoices FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                        clean.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        copy.write(chunk)
            return time.perf_counter() - started
    import duckdb

    folder = Path(tempfile.mkdtemp(prefix="bulk-", dir=work_folder()))
    try:
        started = time.perf_counter()
        connection = duckdb.connect(str(folder / "bulk.duckdb"))
        connection.execute(_KEYED_TABLE)
        connection.execute(f"INSERT INTO bulk_invoices SELECT * FROM read_csv('{clean}', header = true)")
        connection.close()  # the checkpoint: the rows on disk, as the ingest's commit
        return time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _bulk_load_peak_mb(clean: Path, root: Path) -> float:
    """Peak RSS (MB) of a new Python process that does only DuckDB's keyed bulk load of ``clean``
    (``_bulk_load``'s statements): the database's own memory for these rows."""
    database = root / "bulk_peak.duckdb"
    measured = root / "bulk_peak.rusage.json"
    code = ("import duckdb, sys\n"
            "connection = duckdb.connect(sys.argv[2])\n"
            f"connection.execute({_KEYED_TABLE!r})\n"
            "connection.execute(f\"INSERT INTO bulk_invoices SELECT * FROM read_csv('{sys.argv[1]}', header = true)\")\n"
            "connection.close()\n")
    try:
        subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(measured), sys.executable, "-c", code, str(clean),
                        str(database)], check=True, capture_output=True)
        usage = json.loads(measured.read_text())
        if usage["code"] != 0:
            raise RuntimeError(f"the bulk load in a new process exited {usage['code']}")
        return usage["maxrss_kb"] / 1024
    finally:
        for leftover in (database, database.with_suffix(".duckdb.wal"), measured):
            leftover.unlink(missing_ok=True)


def _copy_and_hash(source: Path, root: Path) -> float:
    """Seconds of a new Python process that copies the file and then hashes it (cp + sha256sum)."""
    target = root / "copy_and_hash" / source.name
    target.parent.mkdir(parents=True, exist_ok=True)
    code = ("import hashlib, shutil, sys\n"
            "shutil.copyfile(sys.argv[1], sys.argv[2])\n"
            "digest = hashlib.sha256()\n"
            "with open(sys.argv[1], 'rb') as handle:\n"
            "    while chunk := handle.read(1 << 20):\n"
            "        digest.update(chunk)\n"
            "print(digest.hexdigest())\n")
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(source), str(target)], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
        target.unlink()
    return sorted(times)[1]


def _row_worker(backend: str, original: Path, root: Path, rows: int):
    from tsplatform.warehouse import backend_for

    first_slice = head_of_csv(original, rows, root / "row_worker.csv")
    if backend == "postgres":
        with throwaway_postgres() as url:
            backend_for(url).migrate()
            return baseline_orm.run_postgres(url, first_slice, rows, "baseline_1")
    database = root / "row_worker.duckdb"
    backend_for(f"duckdb:///{database}").migrate()
    return baseline_orm.run_duckdb(database, first_slice, rows, "baseline_1")


# --- figures ---------------------------------------------------------------------------------------------


def _stage_seconds(stages: dict, names: list[str]) -> float:
    return sum(stages.get(name) or 0.0 for name in names)


def _figures(backend, rounds, worker, expected_updates) -> list[Figure]:
    limit = MAX_RATIO_DUCKDB if backend == "duckdb" else MAX_RATIO_POSTGRES
    database = "DuckDB" if backend == "duckdb" else "PostgreSQL"
    figures = []
    for phase, label in (("first", "first load"), ("correction", "10% correction")):
        def both(r, phase=phase):
            return r[phase]["upload"]["wall"] + r[phase]["ingest"]["wall"]

        chosen = sorted(rounds, key=lambda r: both(r) / r["bulk"])[len(rounds) // 2]  # the median ratio
        median, bulk, copy_hash = chosen[phase], chosen["bulk"], chosen["copy_hash"]
        upload, ingest = median["upload"], median["ingest"]
        seconds = upload["wall"] + ingest["wall"]
        rows = median["counts"]
        all_times = ", ".join(f"{both(r):.2f} s / {r['bulk']:.2f} s" for r in rounds)
        figures.append(Figure(
            CASE, f"{backend} {label}: upload + ingest, seconds", seconds, "s", baseline=bulk,
            baseline_label=f"{database} keyed bulk load", ratio=bulk / seconds,
            target=f"within {limit:g}x (ratio >= {1 / limit:.2f}x)", met=seconds <= limit * bulk,
            note=f"{rows:,} lines; upload {upload['wall']:.2f} s + ingest {ingest['wall']:.2f} s = {seconds / bulk:.2f}x "
                 f"the bulk load measured just before; the round with the median ratio of {len(rounds)} fresh "
                 f"environments (ours / bulk: {all_times})",
        ))
        figures.append(throughput(
            CASE, f"{backend} {label}: rows/s, both commands", rows, seconds, baseline_rate=worker.rate,
            baseline_label="row-at-a-time", minimum_ratio=MIN_RATIO_ROW_WORKER,
            note=f"row worker: {worker.rows:,} lines in {worker.seconds:.1f} s",
        ))
        if backend == "duckdb" or phase == "first":
            figures.append(Figure(
                CASE, f"{backend} {label}: tsplatform upload, seconds", upload["wall"], "s", baseline=copy_hash,
                baseline_label="copy + SHA-256", ratio=copy_hash / upload["wall"],
                target=f"within {MAX_UPLOAD_RATIO:g}x (ratio >= {1 / MAX_UPLOAD_RATIO:g}x)",
                met=upload["wall"] <= MAX_UPLOAD_RATIO * copy_hash,
                note=f"copy + SHA-256 in a new Python process, two passes: {copy_hash:.2f} s",
            ))
        for name, stages, wall, labels in (("upload", upload["stages"], upload["wall"], UPLOAD_STAGES),
                                           ("ingest", ingest["stages"], ingest["wall"], INGEST_STAGES)):
            timed = 0.0
            for stage_label, names in labels:
                value = _stage_seconds(stages, names)
                timed += 0.0 if stage_label.startswith("of which") else value  # inside another stage
                figures.append(Figure(CASE, f"{backend} {label}: {name} stage: {stage_label}", value, "s",
                                      note=f"{value / wall:.0%} of the command's {wall:.2f} s; "
                                           f"{value / bulk:.2f}x the bulk load"))
            figures.append(Figure(CASE, f"{backend} {label}: {name} stage: exit (untimed rest)", max(wall - timed, 0.0),
                                  "s", note="process teardown, and what no stage covers"))
        for name, command in (("upload", upload), ("ingest", ingest)):
            figures.append(Figure(
                CASE, f"{backend} {label}: peak RSS of tsplatform {name}", command["peak_mb"], "MB",
                target=f"< {MEMORY_LIMIT_MB / 1024:g} GB", met=command["peak_mb"] < MEMORY_LIMIT_MB,
                note="after each stage: " + ", ".join(f"{k} {v:.0f}" for k, v in command["peak_after"].items())
                if command["peak_after"] else "",
            ))
    bumped = [int(r["versions"].get(2, 0)) for r in rounds]
    exact = all(b == expected_updates and max(r["versions"]) <= 2 and
                int(r["correction"]["ingest"]["batch"]["num_updated_rows"]) == expected_updates
                for b, r in zip(bumped, rounds))
    figures.append(Figure(CASE, f"{backend} correction: keys given version 2", float(bumped[0]), "keys",
                          target=f"= {expected_updates:,} changed keys", met=exact,
                          note=f"every round: {bumped}; versions {sorted(rounds[0]['versions'].items())}"))
    return figures
