"""Where the feature expressions run: embedded DuckDB by default, Spark when a council outgrows one machine."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import ibis
import ibis.backends.duckdb  # noqa: F401  loaded with the other imports, not on the first build (a third of a second)

ENGINES = ("duckdb", "spark")
DUCKDB_MEMORY = "2.5GB"  # measured: 3GB peaked at 3.88 GB for the whole build, 2GB at 3.09 GB but 20% slower


def connect(engine: str, work: Path):
    if engine == "duckdb":
        # DuckDB spills what does not fit to the work folder; the limit keeps the whole build under 4 GB
        memory = os.environ.get("UPSTREAM_DUCKDB_MEMORY", DUCKDB_MEMORY)
        con = ibis.duckdb.connect(str(work / "features.duckdb"), memory_limit=memory, threads=os.cpu_count() or 2)
        con.raw_sql("SET enable_progress_bar = false")  # DuckDB's own printed over the command's on a busy machine
        return con
    if engine == "spark":
        return ibis.pyspark.connect(spark_session())
    raise ValueError(f"unknown engine {engine!r}; choose duckdb or spark")


def spark_session():
    """A local Spark session (local[*]); on a cluster, set SPARK_MASTER (e.g. spark://host:7077 or yarn)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (SparkSession.builder.appName("upstream-features")
               .master(os.environ.get("SPARK_MASTER", "local[*]"))
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="upstream-spark-"))
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "8"))
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def read(con, engine: str, name: str, path: Path):
    if engine == "duckdb":
        return con.read_parquet(str(path), table_name=name)
    return con.read_parquet(str(path))
