//! What a generated store is turned into: the trainer's in-memory data, a model input from the
//! planted vectors, and the CSV files of the data contract.

use super::*;

// ---------------------------------------------------------------------------------------------
// Output: model input and CSV.
// ---------------------------------------------------------------------------------------------

impl DemoStore {
    /// The customer's primary planted taste (index into [`TASTES`]); panics if out of range.
    pub fn planted_taste(&self, customer: usize) -> usize {
        self.customers[customer].tastes[0].0 as usize
    }

    /// The store as the trainer reads it, without a round trip through CSV: the same rows
    /// `write_csv` writes (customers `c{i}` in index order, orders `o{i}`, products `p{i}`).
    pub fn train_data(&self) -> crate::data::TrainData {
        use crate::data::Purchases;
        let mut signals: Vec<String> = Vec::new();
        let mut signal_row: HashMap<&str, u32> = HashMap::new();
        let mut social = Vec::new();
        for (c, customer) in self.customers.iter().enumerate() {
            for &(signal, weight) in &customer.signals {
                let row = *signal_row.entry(signal).or_insert_with(|| {
                    signals.push(signal.to_string());
                    signals.len() as u32 - 1
                });
                social.push((c as u32, row, weight));
            }
        }
        let purchases = Purchases {
            customer: self.purchases.iter().map(|l| l.customer).collect(),
            product: self.purchases.iter().map(|l| l.product).collect(),
            order: self.purchases.iter().map(|l| l.order).collect(),
            ts: self.purchases.iter().map(|l| l.ts as i64).collect(),
        };
        crate::data::TrainData {
            products: self.products.clone(),
            customers: (0..self.customers.len()).map(|c| format!("c{c}")).collect(),
            purchases,
            orders: self.orders,
            signals,
            social,
            views: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Purchase count per product.
    pub fn product_purchases(&self) -> Vec<u64> {
        let mut counts = vec![0u64; self.products.len()];
        for line in &self.purchases {
            counts[line.product as usize] += 1;
        }
        counts
    }

    /// The store as model-builder input: planted vectors, signal vectors, one segment per primary
    /// taste. Co-purchase, repeat statistics, discovery and blending are left for the trainer, so
    /// such a model answers from the embedding alone.
    pub fn model_input(&self) -> ModelInput {
        let dim = self.spec.dim;
        let n_tastes = TASTES.len();

        // Segments: one per primary taste that has customers.
        let mut members = vec![0usize; n_tastes];
        let mut sums = vec![0f64; n_tastes * dim];
        for (c, customer) in self.customers.iter().enumerate() {
            let t = customer.tastes[0].0 as usize;
            members[t] += 1;
            for (s, &x) in sums[t * dim..(t + 1) * dim].iter_mut().zip(&self.customer_vectors[c * dim..(c + 1) * dim]) {
                *s += x as f64;
            }
        }
        let mut bought = vec![0u32; n_tastes * self.products.len()];
        for line in &self.purchases {
            let t = self.customers[line.customer as usize].tastes[0].0 as usize;
            bought[t * self.products.len() + line.product as usize] += 1;
        }
        let mut segment_of_taste = vec![u32::MAX; n_tastes];
        let mut segments = Vec::new();
        for t in 0..n_tastes {
            if members[t] == 0 {
                continue;
            }
            segment_of_taste[t] = segments.len() as u32;
            let centroid = sums[t * dim..(t + 1) * dim].iter().map(|&s| (s / members[t] as f64) as f32).collect();
            let counts = &bought[t * self.products.len()..(t + 1) * self.products.len()];
            let mut popular: Vec<u32> = (0..self.products.len() as u32).filter(|&p| counts[p as usize] > 0).collect();
            popular.sort_by(|&x, &y| counts[y as usize].cmp(&counts[x as usize]).then(x.cmp(&y)));
            popular.truncate(100);
            segments.push(SegmentInput { centroid, popular });
        }
        let customer_segment = self.customers.iter().map(|c| segment_of_taste[c.tastes[0].0 as usize]).collect();

        // Signal vectors: mean planted vector of the customers carrying each signal.
        let mut signal_sums: BTreeMap<&'static str, (Vec<f64>, usize)> = BTreeMap::new();
        for (c, customer) in self.customers.iter().enumerate() {
            for &(signal, _) in &customer.signals {
                let (sum, count) = signal_sums.entry(signal).or_insert_with(|| (vec![0.0; dim], 0));
                *count += 1;
                for (s, &x) in sum.iter_mut().zip(&self.customer_vectors[c * dim..(c + 1) * dim]) {
                    *s += x as f64;
                }
            }
        }
        let signal_vectors = signal_sums
            .into_iter()
            .map(|(signal, (sum, count))| {
                (signal.to_string(), sum.iter().map(|&s| (s / count as f64) as f32).collect())
            })
            .collect();

        let customers = self
            .customers
            .iter()
            .enumerate()
            .map(|(c, customer)| CustomerInput {
                id: format!("c{c}"),
                signals: customer.signals.iter().map(|&(s, w)| (s.to_string(), w)).collect(),
            })
            .collect();

        let spec = &self.spec;
        let mut training = BTreeMap::new();
        training.insert(
            "spec".to_string(),
            serde_json::json!({
                "products": spec.products, "customers": spec.customers, "seed": spec.seed, "dim": spec.dim,
            }),
        );
        training.insert("source".to_string(), serde_json::json!("endcap demo: synthetic store with planted tastes"));
        training.insert("purchase_lines".to_string(), serde_json::json!(self.purchases.len()));
        training.insert("orders".to_string(), serde_json::json!(self.orders));
        training.insert("bundles_planted".to_string(), serde_json::json!(self.bundles.len()));
        training.insert(
            "time_span".to_string(),
            serde_json::json!({ "from": EPOCH_TS - HISTORY_DAYS * 86_400, "to": EPOCH_TS }),
        );
        training.insert("segments".to_string(), serde_json::json!("one per primary planted taste"));
        training.insert("co_purchase".to_string(), serde_json::json!("not computed by the demo"));
        training.insert("repeat".to_string(), serde_json::json!("not computed by the demo"));

        ModelInput {
            model_version: format!("demo-s{}-p{}-c{}", spec.seed, spec.products, spec.customers),
            builder: "endcap demo".to_string(),
            dim,
            products: self.products.clone(),
            product_vectors: self.product_vectors.clone(),
            product_purchases: self.product_purchases(),
            total_orders: self.orders as u64,
            customers,
            customer_vectors: self.customer_vectors.clone(),
            signal_vectors,
            co_purchase: Vec::new(),
            also_bought: Vec::new(),
            repeat: Vec::new(),
            discover: Vec::new(),
            blend: None,
            data_end_ts: self.purchases.iter().map(|l| l.ts as i64).max().unwrap_or(0),
            segments,
            customer_segment,
            training,
            seed: spec.seed,
        }
    }

    /// Writes `products.csv`, `purchases.csv` and `social.csv` (the trainer's input) into `dir`,
    /// creating it; prices are integer cents, timestamps unix seconds.
    pub fn write_csv(&self, dir: &Path) -> io::Result<CsvSummary> {
        std::fs::create_dir_all(dir).map_err(|e| with_path(e, "create directory", dir))?;
        let (products, products_bytes) = write_rows(
            &dir.join("products.csv"),
            b"product_id,name,aisle,department,tags,price_cents\n",
            self.products.len(),
            |buf, p| {
                let product = &self.products[p];
                buf.push(b'p');
                push_u64(buf, p as u64);
                buf.push(b',');
                push_field(buf, &product.name);
                buf.push(b',');
                push_field(buf, &product.aisle);
                buf.push(b',');
                push_field(buf, &product.department);
                buf.push(b',');
                push_field(buf, &product.tags.join(";"));
                buf.push(b',');
                if let Some(cents) = product.price_cents {
                    push_u64(buf, cents as u64);
                }
                buf.push(b'\n');
                1
            },
        )?;
        let (purchases, purchases_bytes) = write_rows(
            &dir.join("purchases.csv"),
            b"customer_id,order_id,product_id,ts\n",
            self.purchases.len(),
            |buf, i| {
                let line = &self.purchases[i];
                buf.push(b'c');
                push_u64(buf, line.customer as u64);
                buf.extend_from_slice(b",o");
                push_u64(buf, line.order as u64);
                buf.extend_from_slice(b",p");
                push_u64(buf, line.product as u64);
                buf.push(b',');
                push_u64(buf, line.ts as u64);
                buf.push(b'\n');
                1
            },
        )?;
        let (social, social_bytes) =
            write_rows(&dir.join("social.csv"), b"customer_id,signal,weight\n", self.customers.len(), |buf, c| {
                for &(signal, weight) in &self.customers[c].signals {
                    buf.push(b'c');
                    push_u64(buf, c as u64);
                    buf.push(b',');
                    push_field(buf, signal);
                    buf.push(b',');
                    push_weight(buf, weight);
                    buf.push(b'\n');
                }
                self.customers[c].signals.len()
            })?;
        Ok(CsvSummary { products, purchases, social, bytes: products_bytes + purchases_bytes + social_bytes })
    }
}

/// Bytes formatted before they are handed to the writer; large writes keep 30 million lines fast.
const CHUNK_BYTES: usize = 1 << 20;

/// Writes `header` then the rows that `row(buf, i)` appends for `i` in `0..n` (it returns how many
/// rows it wrote) to `path`. Formatting runs on a second thread while this one writes, so the
/// slow part (the kernel copying into the page cache) overlaps with the formatting.
/// Returns (rows, bytes).
fn write_rows(
    path: &Path,
    header: &[u8],
    n: usize,
    row: impl Fn(&mut Vec<u8>, usize) -> usize + Sync,
) -> io::Result<(usize, u64)> {
    let mut file = std::fs::File::create(path).map_err(|e| with_path(e, "create", path))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let row = &row;
    std::thread::scope(|scope| {
        let formatter = scope.spawn(move || {
            let mut rows = 0;
            let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
            buf.extend_from_slice(header);
            for i in 0..n {
                rows += row(&mut buf, i);
                if buf.len() >= CHUNK_BYTES {
                    let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK_BYTES + 4096));
                    if tx.send(full).is_err() {
                        // The writer stopped on an error and will report it.
                        return rows;
                    }
                }
            }
            // A send error here means the writer already failed; it reports that error.
            let _ = tx.send(buf);
            rows
        });
        let mut bytes = 0u64;
        let mut written = Ok(());
        for chunk in rx.iter() {
            written = file.write_all(&chunk);
            if written.is_err() {
                break;
            }
            bytes += chunk.len() as u64;
        }
        // Dropping the receiver makes a still-running formatter stop at its next send.
        drop(rx);
        let rows = formatter.join().expect("CSV formatter thread panicked");
        written.and_then(|()| file.flush()).map_err(|e| with_path(e, "write", path))?;
        Ok((rows, bytes))
    })
}

/// An I/O error that says what was being done to which file.
fn with_path(e: io::Error, doing: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("cannot {doing} {}: {e}", path.display()))
}

/// Appends a CSV field, quoted (with doubled quotes) when it holds a comma, quote or newline.
pub(super) fn push_field(buf: &mut Vec<u8>, field: &str) {
    if field.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        buf.push(b'"');
        for b in field.bytes() {
            if b == b'"' {
                buf.push(b'"');
            }
            buf.push(b);
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(field.as_bytes());
    }
}

/// Appends a decimal integer without going through `fmt` (hot for 30 million lines).
pub(super) fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// Appends a weight (generated in hundredths) as `1`, `0.5` or `0.73`.
pub(super) fn push_weight(buf: &mut Vec<u8>, weight: f32) {
    let hundredths = (weight as f64 * 100.0).round().clamp(0.0, 100.0) as u64;
    if hundredths == 100 {
        buf.push(b'1');
        return;
    }
    buf.extend_from_slice(b"0.");
    buf.push(b'0' + (hundredths / 10) as u8);
    let last = hundredths - hundredths / 10 * 10;
    if last != 0 {
        buf.push(b'0' + last as u8);
    }
}
