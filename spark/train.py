"""endcap's trainer at chain scale, on Apache Spark.

    spark-submit spark/train.py --data DIR_OR_URI --out DIR_OR_URI [--store COLUMN] [options]

Reads the data contract endcap's own trainer reads (DATA.md: `products`, `purchases` and the
optional `social`, each as NAME.csv or NAME.parquet, a file or a folder of part files) and
computes, distributed, what `endcap train` computes on one machine, as Parquet tables that
`endcap import --from OUT --store S --out MODEL` turns into one store's model artifact (the
serving side never changes):

    products      catalogue, ALS product vector, popularity (orders, customers, rank in aisle)
    customers     orders placed, ALS vector (fitted without the last basket), segment
    social        the customers' signals (namespace:value, weight)
    repeat        per customer and product: repeat statistics on every order
    co_purchase   per product: products in the same orders (count, cosine, lift; min support)
    also_bought   per product: products bought by the same customers (count, cosine)
    segments      k-means centroids of customer vectors, each with its popular products
    holdout       a sample of customers' last baskets, to fit the buy-again model and calibrate
    fit_repeat    those customers' repeat statistics before the basket
    summary       counts, time span, options, skipped rows

Every table is partitioned by store (`OUT/TABLE/store=S/part-*.parquet`); without `--store`
the single store is called `all`. Like `endcap train`, the job holds out each customer's last
order: ALS and "also bought" are fitted on the orders before it, and `endcap import` fits the
buy-again model and the calibration on a sample of the held-out baskets (`holdout`,
`fit_repeat`), with endcap's own code, then folds every customer's vector in on all their
orders. Product vectors are chain-wide (one ALS over every store's customers); everything
counted is per store.

Malformed rows are skipped and counted by reason (printed at the end and kept in `summary`),
never dropped silently; `--strict` fails on the first kind of malformed row instead.
"""

import argparse
import json
import math
import sys
import time

from pyspark.ml.clustering import KMeans
from pyspark.ml.functions import array_to_vector
from pyspark.ml.recommendation import ALS
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# What endcap's trainer fixes (src/train): ids at most this many bytes (src/ids.rs), prices at
# most 100,000.00 (src/data/rows.rs), each customer's most frequent products that count toward
# "also bought" (src/train/also_bought.rs), the two buy-again half-lives in orders
# (src/train/buy_again.rs).
MAX_ID_BYTES = 256
MAX_PRICE_CENTS = 10_000_000
ALSO_BOUGHT_CAP = 64
HALF_LIVES = (2.0, 8.0)
# The table layout version `endcap import` checks.
TABLES_VERSION = 1


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder or URI with products, purchases, social")
    p.add_argument("--out", required=True, help="folder or URI for the tables (overwritten)")
    p.add_argument("--store", default="", help="purchases column naming the store: one model per store")
    p.add_argument("--dim", type=int, default=64, help="embedding width (ALS rank)")
    p.add_argument("--iterations", type=int, default=10, help="ALS iterations")
    p.add_argument("--alpha", type=float, default=10.0, help="confidence per log decayed purchase")
    p.add_argument(
        "--reg",
        type=float,
        default=0.01,
        help="ALS regParam (MLlib scales it by each row's ratings; endcap's lambda 0.5 is about 0.01 here)",
    )
    p.add_argument("--decay-orders", type=float, default=8.0, help="recency half-life of ALS confidence, in orders")
    p.add_argument("--co-min-support", type=int, default=3)
    p.add_argument("--co-top", type=int, default=20)
    p.add_argument("--also-min-support", type=int, default=3)
    p.add_argument("--also-top", type=int, default=30)
    p.add_argument("--segments", type=int, default=24)
    p.add_argument("--segment-popular", type=int, default=100)
    p.add_argument("--fit-customers", type=int, default=50_000, help="held-out baskets sampled per store")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--strict", action="store_true", help="fail on malformed rows instead of skipping them")
    p.add_argument("--master", default="", help="Spark master when not run by spark-submit (e.g. local[2])")
    p.add_argument(
        "--shuffle-partitions",
        type=int,
        default=0,
        help="spark.sql.shuffle.partitions (0: the cluster's setting; a few for local mode on small data)",
    )
    a = p.parse_args(argv)
    if not 1 <= a.dim <= 1024:
        p.error("--dim must be 1 to 1024")
    if a.iterations < 1 or a.alpha <= 0 or a.reg < 0 or a.decay_orders < 0:
        p.error("--iterations must be >= 1, --alpha > 0, --reg and --decay-orders >= 0")
    return a


class Skips:
    """Skipped rows by table and reason, counted on the cluster, reported on the driver."""

    def __init__(self, strict):
        self.strict = strict
        self.counts = {}

    def split(self, table, df, reason_col):
        """Keeps rows whose `reason_col` is null; counts the others by reason."""
        bad = df.filter(F.col(reason_col).isNotNull())
        rows = bad.groupBy(reason_col).agg(F.count("*").alias("n"), F.first(F.to_json(F.struct("*"))).alias("e"))
        for r in rows.collect():
            self.counts.setdefault(table, {})[r[reason_col]] = (r["n"], r["e"])
            if self.strict:
                sys.exit(f"{table}: {r['n']} rows {r[reason_col]} (e.g. {r['e']}) (--strict: no row may be skipped)")
        return df.filter(F.col(reason_col).isNull()).drop(reason_col)

    def report(self):
        lines = []
        for table, reasons in sorted(self.counts.items()):
            for reason, (n, example) in sorted(reasons.items()):
                lines.append(f"  {table}: skipped {n:>9} {reason}, e.g. {example}")
        return lines

    def as_json(self):
        return {f"{t}: {r}": n for t, rs in self.counts.items() for r, (n, _) in rs.items()}


def hadoop_exists(spark, path):
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(p)


def read_table(spark, data, name, required):
    """`data/NAME.parquet` or `data/NAME.csv` (file or folder); None when neither exists."""
    base = data.rstrip("/")
    pq, csv = f"{base}/{name}.parquet", f"{base}/{name}.csv"
    has_pq, has_csv = hadoop_exists(spark, pq), hadoop_exists(spark, csv)
    if has_pq and has_csv:
        sys.exit(f"{base}: both {name}.csv and {name}.parquet are present; keep one")
    if not (has_pq or has_csv):
        if required:
            sys.exit(f"no {name}.csv or {name}.parquet in {base}")
        return None
    if has_pq:
        df = spark.read.parquet(pq)
    else:
        # Every CSV column as text: the parsing rules below are the contract's, not Spark's guesses.
        df = spark.read.option("header", True).option("inferSchema", False).option("mode", "PERMISSIVE").csv(csv)
    # Column names are matched like endcap does: trimmed, case-insensitive.
    for c in df.columns:
        df = df.withColumnRenamed(c, c.strip().lower())
    missing = [c for c in required if c not in df.columns]
    if missing:
        sys.exit(f"{pq if has_pq else csv}: the header has no `{missing[0]}` column (found: {','.join(df.columns)})")
    return df


def text(df, c):
    """Column `c` as trimmed text (null stays null)."""
    return F.trim(F.col(c).cast("string"))


def id_check(c):
    """The reason an id column is unusable, or null."""
    return (
        F.when(F.col(c).isNull(), F.lit("missing field"))
        .when(F.col(c) == "", F.lit("empty id"))
        .when(F.length(F.encode(F.col(c), "UTF-8")) > MAX_ID_BYTES, F.lit("id too long"))
    )


def ts_seconds(df, c):
    """The data contract's timestamp forms as unix seconds (UTC): Parquet timestamps and dates;
    integers (seconds; 12+ digits milliseconds, 15+ microseconds, 18+ nanoseconds); ISO 8601 with
    `T` or a space, optional fraction and zone (no zone: UTC); a date alone."""
    kind = dict(df.dtypes)[c]
    col = F.col(c)
    if kind.startswith("timestamp"):
        return F.unix_timestamp(col).cast("long")
    if kind == "date":
        return F.unix_timestamp(col.cast("timestamp")).cast("long")
    s = F.trim(col.cast("string"))
    n = F.when(s.rlike(r"^-?[0-9]+$"), s.cast("long"))
    digits = F.length(F.abs(n).cast("string"))
    from_int = (
        F.when(digits <= 11, n)
        .when(digits <= 14, F.floor(n / 1_000))
        .when(digits <= 17, F.floor(n / 1_000_000))
        .otherwise(F.floor(n / 1_000_000_000))
    )
    # Compact offsets (+0200, +02) to the +02:00 Spark reads.
    iso = F.regexp_replace(s, r"([+-][0-9]{2})([0-9]{2})$", "$1:$2")
    iso = F.regexp_replace(iso, r"([+-][0-9]{2})$", "$1:00")
    from_text = F.unix_timestamp(F.to_timestamp(iso)).cast("long")
    return F.when(n.isNotNull(), from_int.cast("long")).otherwise(from_text)


def read_products(spark, a, skips):
    df = read_table(spark, a.data, "products", ["product_id", "name", "aisle", "department"])
    cols = df.columns
    if "price" in cols and "price_cents" in cols:
        sys.exit("products: both `price` (currency units) and `price_cents` columns; keep one")
    tags = F.lit(None).cast("array<string>")
    if "tags" in cols:
        kind = dict(df.dtypes)["tags"]
        tags = F.col("tags") if kind.startswith("array") else F.split(F.coalesce(text(df, "tags"), F.lit("")), ";")
        tags = F.filter(F.transform(F.coalesce(tags, F.array().cast("array<string>")), lambda t: F.trim(t)), lambda t: t != "")
    price = F.lit(None).cast("long")
    price_bad = F.lit(False)
    if "price" in cols:
        kind = dict(df.dtypes)["price"]
        if kind in ("float", "double") or kind.startswith("decimal") or kind in ("int", "bigint", "smallint"):
            price = F.round(F.col("price").cast("double") * 100).cast("long")
            price_bad = F.col("price").isNotNull() & (F.col("price") < 0)
        else:
            s = text(df, "price")
            ok = s.rlike(r"^[0-9]+(\.[0-9]{0,2})?$")
            price = F.when(ok, F.round(s.cast("decimal(20,2)") * 100).cast("long"))
            price_bad = (s.isNotNull() & (s != "")) & ~ok
    elif "price_cents" in cols:
        s = F.regexp_replace(text(df, "price_cents"), r"\.0$", "")
        ok = s.rlike(r"^[0-9]+$")
        price = F.when(ok, s.cast("long"))
        price_bad = (s.isNotNull() & (s != "")) & ~ok
    # A --store column in products gives each store its own catalogue. Not yet exercised by
    # tests/server/spark.rs, which runs a chain with one catalogue (the products crossed with the
    # stores below); treat per-store catalogues as untested.
    store = [F.trim(F.col(a.store).cast("string")).alias("store")] if a.store and a.store in cols else []
    df = df.select(
        text(df, "product_id").alias("product_id"),
        text(df, "name").alias("name"),
        text(df, "aisle").alias("aisle"),
        text(df, "department").alias("department"),
        tags.alias("tags"),
        price.alias("price_cents"),
        price_bad.alias("price_bad"),
        *store,
    )
    reason = (
        F.coalesce(
            id_check("product_id"),
            F.when(F.col("name").isNull() | F.col("aisle").isNull() | F.col("department").isNull(), "missing field"),
            F.when(F.col("aisle") == "", "empty aisle"),
            F.when(F.col("price_bad"), "bad price"),
            F.when(F.col("price_cents") > MAX_PRICE_CENTS, "implausible price"),
        )
    )
    df = skips.split("products", df.withColumn("reason", reason), "reason").drop("price_bad")
    # A duplicate id keeps one row (the smallest name, so reruns agree) and counts the rest.
    key = ["store", "product_id"] if store else ["product_id"]
    w = Window.partitionBy(*key).orderBy("name", "aisle")
    df = df.withColumn("dup", F.when(F.row_number().over(w) > 1, "duplicate product_id"))
    return skips.split("products", df, "dup")


def read_purchases(spark, a, skips, products):
    need = ["customer_id", "order_id", "product_id", "ts"] + ([a.store] if a.store else [])
    df = read_table(spark, a.data, "purchases", need)
    store = F.trim(F.col(a.store).cast("string")) if a.store else F.lit("all")
    df = df.select(
        store.alias("store"),
        text(df, "customer_id").alias("customer_id"),
        text(df, "order_id").alias("order_id"),
        text(df, "product_id").alias("product_id"),
        ts_seconds(df, "ts").alias("ts"),
        F.col("ts").cast("string").alias("ts_text"),
    )
    known = products.select("product_id").distinct().withColumn("known", F.lit(True))
    df = df.join(F.broadcast(known) if products.count() < 5_000_000 else known, "product_id", "left")
    reason = F.coalesce(
        F.when(F.col("store").isNull() | (F.col("store") == ""), "missing store"),
        id_check("customer_id"),
        id_check("order_id"),
        id_check("product_id"),
        F.when(F.col("known").isNull(), "unknown product_id"),
        F.when(F.col("ts").isNull(), "bad ts"),
    )
    df = df.withColumn("reason", reason)
    return skips.split("purchases", df, "reason").drop("known", "ts_text")


def read_social(spark, a, skips):
    df = read_table(spark, a.data, "social", ["customer_id", "signal"])
    if df is None:
        return None
    weight = F.lit(1.0)
    weight_bad = F.lit(False)
    if "weight" in df.columns:
        s = text(df, "weight")
        w = s.cast("double")
        weight = F.when(s.isNull() | (s == ""), F.lit(1.0)).otherwise(w)
        weight_bad = (s.isNotNull() & (s != "")) & (w.isNull() | (w < 0) | F.isnan(w) | (F.abs(w) == float("inf")))
    df = df.select(
        text(df, "customer_id").alias("customer_id"),
        text(df, "signal").alias("signal"),
        weight.cast("float").alias("weight"),
        weight_bad.alias("weight_bad"),
    )
    reason = F.coalesce(
        id_check("customer_id"),
        F.when(~F.coalesce(F.col("signal"), F.lit("")).rlike(r"^[^:]+:.+$"), "signal is not namespace:value"),
        F.when(F.col("weight_bad"), "bad weight"),
    )
    return skips.split("social", df.withColumn("reason", reason), "reason").drop("weight_bad")


def orders_of(lines):
    """Each (store, customer)'s orders in time order: ts (the latest line's), products, index."""
    orders = lines.groupBy("store", "customer_id", "order_id").agg(
        F.max("ts").alias("ts"), F.array_sort(F.collect_set("product_id")).alias("products")
    )
    w = Window.partitionBy("store", "customer_id").orderBy("ts", "order_id")
    orders = orders.withColumn("idx", F.row_number().over(w) - 1)
    n = orders.groupBy("store", "customer_id").agg(F.count("*").alias("n"))
    return orders.join(n, ["store", "customer_id"])


def decay_factor(half_life):
    return 0.5 ** (1.0 / half_life) if half_life > 0 else 1.0


def repeat_stats(orders, decay_orders):
    """Per (store, customer, product), counted in the customer's own orders (`orders` has `idx`
    and `n` for the orders known): what src/train/orders.rs `summarise` computes, plus the ALS
    confidence's decayed count."""
    f2, f8, fd = (decay_factor(h) for h in (*HALF_LIVES, decay_orders))

    def norm(f):
        return F.lit(1.0) * F.col("n") if f >= 1.0 else (1.0 - F.pow(F.lit(f), F.col("n"))) / (1.0 - f)

    lines = orders.select("store", "customer_id", "n", "idx", "ts", F.explode("products").alias("product_id"))
    age = F.col("n") - 1 - F.col("idx")
    g = lines.groupBy("store", "customer_id", "product_id", "n").agg(
        F.count("*").cast("int").alias("count"),
        F.min("idx").alias("first_idx"),
        F.max("idx").alias("last_idx"),
        F.min("ts").alias("first_ts"),
        F.max("ts").alias("last_ts"),
        F.sum(F.pow(F.lit(f2), age)).alias("d2"),
        F.sum(F.pow(F.lit(f8), age)).alias("d8"),
        F.sum(F.pow(F.lit(fd), age)).alias("decayed_count"),
    )
    repeats = F.col("count") - 1
    return g.select(
        "store",
        "customer_id",
        "product_id",
        "count",
        (F.col("n") - 1 - F.col("last_idx")).cast("int").alias("orders_since"),
        (F.col("d2") / norm(f2)).cast("float").alias("decayed_2"),
        (F.col("d8") / norm(f8)).cast("float").alias("decayed_8"),
        F.col("decayed_count").cast("float").alias("decayed_count"),
        F.col("last_ts").cast("long").alias("last_ts"),
        F.when(repeats > 0, (F.col("last_ts") - F.col("first_ts")) / 86_400.0 / repeats)
        .otherwise(0.0)
        .cast("float")
        .alias("gap_days"),
        F.when(repeats > 0, (F.col("last_idx") - F.col("first_idx")) / repeats).otherwise(0.0).cast("float").alias("gap_orders"),
    )


def pair_counts(groups, key, min_support, top, count_name):
    """Per (store, product a): the products b sharing a group (an order, or a customer's set)
    at least `min_support` times, best `top` by cosine n_ab / sqrt(n_a n_b). `groups` has store,
    `key`, products (distinct)."""
    singles = groups.select("store", F.explode("products").alias("a")).groupBy("store", "a").agg(F.count("*").alias("n_a"))
    pairs = (
        groups.select("store", key, F.explode("products").alias("a"), "products")
        .select("store", "a", F.explode("products").alias("b"))
        .filter(F.col("a") != F.col("b"))
        .groupBy("store", "a", "b")
        .agg(F.count("*").alias("n_ab"))
        .filter(F.col("n_ab") >= min_support)
    )
    nb = singles.withColumnRenamed("a", "b").withColumnRenamed("n_a", "n_b")
    scored = (
        pairs.join(singles, ["store", "a"])
        .join(nb, ["store", "b"])
        .withColumn("score", (F.col("n_ab") / F.sqrt(F.col("n_a") * F.col("n_b"))).cast("float"))
    )
    w = Window.partitionBy("store", "a").orderBy(F.desc("score"), "b")
    return (
        scored.withColumn("rank", F.row_number().over(w))
        .filter(F.col("rank") <= top)
        .select(
            "store",
            F.col("a").alias("product_id"),
            F.col("b").alias("other_id"),
            F.col("n_ab").cast("int").alias(count_name),
            "score",
            "rank",
            "n_a",
            "n_b",
        )
    )


def dense_ids(df, col, name, buckets=1024):
    """Distinct values of `col` numbered 0.. (what MLlib's ALS needs), without a window over one
    partition: values are spread over hash buckets, numbered within each, and offset by the
    sizes of the buckets before (a small table collected on the driver)."""
    distinct = df.select(col).distinct().withColumn("bucket", F.pmod(F.xxhash64(col), F.lit(buckets)))
    sizes = sorted((r["bucket"], r["count"]) for r in distinct.groupBy("bucket").count().collect())
    offsets, total = [], 0
    for bucket, n in sizes:
        offsets.append((int(bucket), total))
        total += n
    if total >= 2**31:
        sys.exit(f"{total} distinct {col} values: more than MLlib's ALS can number")
    spark = df.sparkSession
    starts = spark.createDataFrame(offsets, "bucket long, start long")
    w = Window.partitionBy("bucket").orderBy(col)
    return (
        distinct.join(F.broadcast(starts), "bucket")
        .withColumn(name, (F.col("start") + F.row_number().over(w) - 1).cast("int"))
        .select(col, name)
    )


def write(df, out, name):
    df.write.mode("overwrite").partitionBy("store").parquet(f"{out.rstrip('/')}/{name}")


def main(argv):
    a = parse_args(argv)
    started = time.time()
    builder = SparkSession.builder.appName("endcap-train")
    if a.master:
        builder = builder.master(a.master)
    if a.shuffle_partitions > 0:
        builder = builder.config("spark.sql.shuffle.partitions", str(a.shuffle_partitions))
    spark = (
        builder.config("spark.sql.session.timeZone", "UTC")
        # The job validates every field itself (and counts what it skips): a malformed value is
        # null here, never an exception (Spark 4 defaults to ANSI mode, which throws).
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.parquet.compression.codec", "snappy")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(f"{a.out.rstrip('/')}/_checkpoints")
    skips = Skips(a.strict)
    steps = []

    def step(name, t0):
        steps.append((name, round(time.time() - t0, 1)))
        print(f"step {name} done in {time.time() - t0:.1f} s", file=sys.stderr, flush=True)

    t = time.time()
    products = read_products(spark, a, skips).cache()
    if products.count() == 0:
        sys.exit("products: no usable products\n" + "\n".join(skips.report()))
    lines = read_purchases(spark, a, skips, products).cache()
    if lines.count() == 0:
        sys.exit("purchases: no usable purchases\n" + "\n".join(skips.report()))
    social = read_social(spark, a, skips)
    step("read", t)

    t = time.time()
    orders = orders_of(lines).cache()
    # The held-out basket: each customer's last order, when they have an earlier one.
    fit_orders = (
        orders.filter((F.col("n") < 2) | (F.col("idx") < F.col("n") - 1))
        .withColumn("n", F.when(F.col("n") >= 2, F.col("n") - 1).otherwise(F.col("n")))
        .cache()
    )
    repeat = repeat_stats(orders, a.decay_orders).cache()
    fit_repeat_all = repeat_stats(fit_orders, a.decay_orders)
    step("orders + repeat statistics", t)

    # ALS, chain-wide, on the orders before each held-out basket: rating = ln(1 + decayed count),
    # so MLlib's confidence 1 + alpha * rating is endcap's 1 + alpha * ln(1 + r).
    t = time.time()
    customer_ids = dense_ids(fit_orders, "customer_id", "user")
    product_ids = dense_ids(products, "product_id", "item")
    ratings = (
        fit_repeat_all.groupBy("customer_id", "product_id")
        .agg(F.sum("decayed_count").alias("r"))
        .join(customer_ids, "customer_id")
        .join(product_ids, "product_id")
        .select("user", "item", F.log1p("r").cast("float").alias("rating"))
    )
    als = ALS(
        rank=a.dim,
        maxIter=a.iterations,
        regParam=a.reg,
        alpha=a.alpha,
        implicitPrefs=True,
        userCol="user",
        itemCol="item",
        ratingCol="rating",
        seed=a.seed,
        coldStartStrategy="drop",
        checkpointInterval=5,
    ).fit(ratings)
    user_vectors = als.userFactors.join(customer_ids, als.userFactors.id == customer_ids.user).select(
        "customer_id", F.col("features").alias("vector")
    )
    item_vectors = als.itemFactors.join(product_ids, als.itemFactors.id == product_ids.item).select(
        "product_id", F.col("features").alias("vector")
    ).cache()
    item_vectors.count()
    step("als", t)

    # Segments: k-means over customer vectors, chain-wide.
    t = time.time()
    segments_of = None
    centroids = None
    k = min(a.segments, user_vectors.count())
    if k >= 2:
        km = KMeans(k=k, seed=a.seed, maxIter=10, featuresCol="features", predictionCol="segment")
        feats = user_vectors.select("customer_id", array_to_vector("vector").alias("features"))
        model = km.fit(feats)
        segments_of = model.transform(feats).select("customer_id", F.col("segment").cast("int"))
        centroids = spark.createDataFrame(
            [(i, [float(x) for x in c]) for i, c in enumerate(model.clusterCenters())],
            "segment int, centroid array<float>",
        )
    step("segments", t)

    # Customers of each store: their orders, vector, segment (social-only customers belong to
    # the single store of a run without --store).
    t = time.time()
    customers = orders.groupBy("store", "customer_id").agg(F.max("n").cast("int").alias("orders"))
    store_social = None
    if social is not None:
        if a.store:
            store_social = social.join(customers.select("store", "customer_id"), "customer_id")
        else:
            store_social = social.withColumn("store", F.lit("all"))
            social_only = (
                social.select("customer_id").distinct().join(customers, "customer_id", "left_anti")
                .withColumn("store", F.lit("all")).withColumn("orders", F.lit(0))
            )
            customers = customers.unionByName(social_only)
    customers = customers.join(user_vectors, "customer_id", "left")
    if segments_of is not None:
        customers = customers.join(segments_of, "customer_id", "left")
    else:
        customers = customers.withColumn("segment", F.lit(None).cast("int"))

    # Popularity per store: orders and customers holding each product, rank in its aisle.
    items = orders.select("store", "customer_id", F.explode("products").alias("product_id"))
    popularity = items.groupBy("store", "product_id").agg(
        F.count("*").alias("orders"), F.countDistinct("customer_id").alias("buyers")
    )
    stores = orders.select("store").distinct()
    catalogue = products if "store" in products.columns else products.crossJoin(stores)
    store_products = (
        catalogue.join(popularity, ["store", "product_id"], "left")
        .na.fill({"orders": 0, "buyers": 0})
        .join(item_vectors, "product_id", "left")
    )
    w = Window.partitionBy("store", "aisle").orderBy(F.desc("orders"), "product_id")
    store_products = store_products.withColumn("aisle_rank", F.row_number().over(w).cast("int"))

    # Co-purchase per order (every order), also bought per customer (their most frequent
    # ALSO_BOUGHT_CAP products, orders before the held-out basket).
    co = pair_counts(orders.select("store", "customer_id", "order_id", "products"), "order_id", a.co_min_support, a.co_top, "together")
    total = orders.groupBy("store").agg(F.count("*").alias("total_orders"))
    co = co.join(total, "store").withColumn(
        "lift", (F.col("together") * F.col("total_orders") / (F.col("n_a") * F.col("n_b"))).cast("float")
    ).withColumnRenamed("n_a", "product_orders").withColumnRenamed("n_b", "other_orders").drop("total_orders")
    fit_counts = fit_repeat_all.select("store", "customer_id", "product_id", "count")
    w = Window.partitionBy("store", "customer_id").orderBy(F.desc("count"), "product_id")
    sets = (
        fit_counts.withColumn("r", F.row_number().over(w))
        .filter(F.col("r") <= ALSO_BOUGHT_CAP)
        .groupBy("store", "customer_id")
        .agg(F.collect_list("product_id").alias("products"))
    )
    also = pair_counts(sets, "customer_id", max(a.also_min_support, 1), a.also_top, "customers").withColumnRenamed(
        "n_a", "product_customers"
    ).withColumnRenamed("n_b", "other_customers")

    # Segment popularity per store: the segment's customers' purchases (every order).
    seg_tables = None
    if segments_of is not None:
        seg_items = items.join(segments_of, "customer_id").groupBy("store", "segment", "product_id").agg(F.count("*").alias("n"))
        w = Window.partitionBy("store", "segment").orderBy(F.desc("n"), "product_id")
        seg_popular = (
            seg_items.withColumn("r", F.row_number().over(w))
            .filter(F.col("r") <= a.segment_popular)
            .groupBy("store", "segment")
            .agg(F.sort_array(F.collect_list(F.struct("r", "product_id"))).alias("ranked"))
            .select("store", "segment", F.col("ranked.product_id").alias("popular"))
        )
        seg_tables = centroids.crossJoin(stores).join(seg_popular, ["store", "segment"], "left")

    # Held-out baskets: a deterministic sample of customers with two orders or more per store.
    pick = Window.partitionBy("store").orderBy(F.xxhash64("customer_id", F.lit(a.seed)), "customer_id")
    holdout = (
        orders.filter((F.col("n") >= 2) & (F.col("idx") == F.col("n") - 1))
        .withColumn("pick", F.row_number().over(pick))
        .filter(F.col("pick") <= a.fit_customers)
        .select("store", "customer_id", F.col("ts").cast("long").alias("ts"), "products", (F.col("n") - 1).cast("int").alias("fit_orders"))
        .cache()
    )
    fit_repeat = fit_repeat_all.join(holdout.select("store", "customer_id"), ["store", "customer_id"], "left_semi")
    step("counts", t)

    t = time.time()
    out = a.out
    write(store_products.select(
        "store", "product_id", "name", "aisle", "department", "tags", "price_cents",
        "orders", "buyers", "aisle_rank", "vector"), out, "products")
    write(customers.select("store", "customer_id", "orders", "segment", "vector"), out, "customers")
    if store_social is not None:
        write(store_social.select("store", "customer_id", "signal", "weight"), out, "social")
    write(repeat, out, "repeat")
    write(co.select("store", "product_id", "other_id", "together", "score", "lift", "product_orders", "other_orders", "rank"), out, "co_purchase")
    write(also.select("store", "product_id", "other_id", "customers", "score", "product_customers", "other_customers", "rank"), out, "also_bought")
    if seg_tables is not None:
        write(seg_tables.select("store", "segment", "centroid", "popular"), out, "segments")
    write(holdout, out, "holdout")
    write(fit_repeat, out, "fit_repeat")
    step("write", t)

    lines_per_store = {r["store"]: r["count"] for r in lines.groupBy("store").count().collect()}
    per_store = (
        orders.groupBy("store")
        .agg(
            F.count("*").alias("orders"),
            F.sum(F.size("products")).alias("order_lines"),
            F.countDistinct("customer_id").alias("customers"),
            F.min("ts").alias("data_start_ts"),
            F.max("ts").alias("data_end_ts"),
        )
        .collect()
    )
    options = {k: v for k, v in vars(a).items() if k not in ("data", "out", "master")}
    rows = [
        (
            r["store"], TABLES_VERSION, int(r["orders"]), int(r["order_lines"]), int(r["customers"]),
            int(r["data_start_ts"]), int(r["data_end_ts"]), int(lines_per_store.get(r["store"], 0)),
            json.dumps(options, sort_keys=True), json.dumps(skips.as_json(), sort_keys=True), spark.version,
            json.dumps(steps),
        )
        for r in per_store
    ]
    summary = spark.createDataFrame(
        rows,
        "store string, tables_version int, orders long, order_lines long, customers long, data_start_ts long, "
        "data_end_ts long, purchase_lines long, options string, skipped string, spark_version string, steps string",
    )
    write(summary, out, "summary")

    print(f"endcap spark job: {len(rows)} store(s) -> {out} in {time.time() - started:.1f} s", file=sys.stderr)
    for r in per_store:
        print(f"  store {r['store']}: {r['orders']} orders, {r['customers']} customers", file=sys.stderr)
    for line in skips.report():
        print(line, file=sys.stderr)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
