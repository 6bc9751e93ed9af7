//! `--plot FILE`: a PNG with the run's latency over time (p50, p99 and max per time slice) and its
//! latency distribution (by percentile, on a "nines" axis).
//!
//! Drawn on a plain RGB raster with the 8x8 bitmap font of `font8x8` and encoded by `png`: a
//! charting library would need a TrueType font at run time, which a fresh machine may not have.

use std::path::Path;

use anyhow::Context;

use crate::stats::Summary;

const W: usize = 1000;
const H: usize = 760;
const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [20, 20, 20];
const GRID: [u8; 3] = [225, 225, 225];
const BLUE: [u8; 3] = [31, 119, 180];
const ORANGE: [u8; 3] = [230, 110, 20];
const GRAY: [u8; 3] = [150, 150, 150];
const RED: [u8; 3] = [200, 30, 30];

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas { px: WHITE.repeat(W * H) }
    }

    fn dot(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if (0..W as i64).contains(&x) && (0..H as i64).contains(&y) {
            let i = (y as usize * W + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    /// A line, `width` pixels thick (Bresenham).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 3], width: i64) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            for ox in 0..width {
                for oy in 0..width {
                    self.dot(x + ox, y + oy, c);
                }
            }
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text with its top-left corner at (x, y), each font pixel `scale` pixels wide.
    fn text(&mut self, x: i64, y: i64, s: &str, c: [u8; 3], scale: i64) {
        for (i, ch) in s.chars().enumerate() {
            let glyph = font8x8::legacy::BASIC_LEGACY.get(ch as usize).copied().unwrap_or([0; 8]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        for oy in 0..scale {
                            for ox in 0..scale {
                                let px = x + (i as i64 * 8 + col) * scale + ox;
                                self.dot(px, y + row as i64 * scale + oy, c);
                            }
                        }
                    }
                }
            }
        }
    }

    fn text_right(&mut self, right: i64, y: i64, s: &str, c: [u8; 3]) {
        self.text(right - 8 * s.len() as i64, y, s, c, 1);
    }
}

/// A plot area in pixels and the data ranges it shows.
/// A chart area with a linear x axis and a logarithmic latency (y) axis from `y_min` to `y_max`
/// (powers of ten), so a 50 us median and a 20 ms tail are both readable.
struct Panel {
    left: i64,
    top: i64,
    width: i64,
    height: i64,
    x_max: f64,
    y_min: f64,
    y_max: f64,
}

impl Panel {
    fn at(&self, x: f64, y: f64) -> (i64, i64) {
        let px = self.left + (x / self.x_max * self.width as f64).round() as i64;
        let (lo, hi) = (self.y_min.log10(), self.y_max.log10());
        let f = (y.clamp(self.y_min, self.y_max).log10() - lo) / (hi - lo).max(1e-9);
        let py = self.top + self.height - (f * self.height as f64).round() as i64;
        (px, py)
    }

    /// Frame, horizontal grid lines at 1, 2 and 5 times each power of ten with latency labels at the
    /// powers, and the title.
    fn frame(&self, canvas: &mut Canvas, title: &str) {
        canvas.text(self.left, self.top - 22, title, BLACK, 2);
        let mut decade = self.y_min;
        while decade <= self.y_max * 1.000_001 {
            for m in [1.0, 2.0, 5.0] {
                let v = decade * m;
                if v > self.y_max * 1.000_001 {
                    break;
                }
                let (_, y) = self.at(0.0, v);
                canvas.line((self.left, y), (self.left + self.width, y), GRID, 1);
                if m == 1.0 {
                    canvas.text_right(self.left - 6, y - 4, &latency_label(v), BLACK);
                }
            }
            decade *= 10.0;
        }
        let (l, t, r, b) = (self.left, self.top, self.left + self.width, self.top + self.height);
        for (a, z) in [((l, t), (r, t)), ((r, t), (r, b)), ((r, b), (l, b)), ((l, b), (l, t))] {
            canvas.line(a, z, BLACK, 1);
        }
    }

    fn polyline(&self, canvas: &mut Canvas, points: &[(f64, f64)], c: [u8; 3]) {
        for w in points.windows(2) {
            canvas.line(self.at(w[0].0, w[0].1), self.at(w[1].0, w[1].1), c, 2);
        }
    }
}

/// The power of ten at or above `v` (a log axis' top).
fn decade_ceil(v: f64) -> f64 {
    10f64.powf(v.max(1.0).log10().ceil())
}

/// The power of ten at or below `v` (a log axis' bottom), at least 1.
fn decade_floor(v: f64) -> f64 {
    10f64.powf(v.max(1.0).log10().floor())
}

/// `10us`, `1ms`, `1s`.
fn latency_label(us: f64) -> String {
    match us {
        u if u >= 1e6 => format!("{:.0}s", u / 1e6),
        u if u >= 1e3 => format!("{:.0}ms", u / 1e3),
        u => format!("{u:.0}us"),
    }
}

/// Latency per time slice: (slice start in s, p50, p99, max), from the run's samples.
fn timeline(summary: &Summary, slices: usize) -> Vec<(f64, f64, f64, f64)> {
    let total_ms = (summary.window + summary.warmup).as_millis().max(1) as u64;
    let slice_ms = (total_ms / slices as u64).max(10);
    let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); (total_ms / slice_ms + 1) as usize];
    for &(at, us) in &summary.stats.samples {
        if let Some(b) = buckets.get_mut((u64::from(at) / slice_ms) as usize) {
            b.push(us);
        }
    }
    buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(i, mut b)| {
            b.sort_unstable();
            let q = |q: f64| f64::from(b[((b.len() - 1) as f64 * q).round() as usize]);
            ((i as u64 * slice_ms) as f64 / 1000.0, q(0.5), q(0.99), q(1.0))
        })
        .collect()
}

/// Renders the chart as PNG bytes.
pub fn render(summary: &Summary) -> anyhow::Result<Vec<u8>> {
    let mut canvas = Canvas::new();
    let h = &summary.stats.latency;
    let title = format!(
        "endcap-loadtest: {} {}  {:.0} req/s offered, {:.0} achieved  p50 {}us p99 {}us p99.9 {}us max {}us  errors {}",
        summary.transport,
        summary.op,
        summary.offered_rate,
        summary.achieved_rate(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        summary.stats.error_total()
    );
    canvas.text(20, 10, &title, BLACK, 1);

    // Latency over time.
    let slices = timeline(summary, 200);
    let y_max = decade_ceil(slices.iter().map(|s| s.3).fold(0.0, f64::max) * 1.01);
    let y_min = decade_floor(slices.iter().map(|s| s.1).fold(f64::INFINITY, f64::min).min(y_max / 10.0));
    let x_max = (summary.window + summary.warmup).as_secs_f64().max(0.001);
    let top = Panel { left: 90, top: 60, width: 880, height: 280, x_max, y_min, y_max };
    top.frame(&mut canvas, "latency over time");
    for i in 0..=5 {
        let x = x_max * i as f64 / 5.0;
        let (px, py) = top.at(x, top.y_min);
        canvas.text(px - 12, py + 6, &format!("{x:.1}s"), BLACK, 1);
    }
    if !summary.warmup.is_zero() {
        let (px, _) = top.at(summary.warmup.as_secs_f64(), top.y_min);
        canvas.line((px, top.top), (px, top.top + top.height), RED, 1);
        canvas.text(px + 4, top.top + 4, "warm-up ends", RED, 1);
    }
    top.polyline(&mut canvas, &slices.iter().map(|s| (s.0, s.3)).collect::<Vec<_>>(), GRAY);
    top.polyline(&mut canvas, &slices.iter().map(|s| (s.0, s.2)).collect::<Vec<_>>(), ORANGE);
    top.polyline(&mut canvas, &slices.iter().map(|s| (s.0, s.1)).collect::<Vec<_>>(), BLUE);
    for (i, (name, c)) in [("p50", BLUE), ("p99", ORANGE), ("max", GRAY)].into_iter().enumerate() {
        let x = 600 + i as i64 * 110;
        canvas.line((x, 42), (x + 20, 42), c, 2);
        canvas.text(x + 26, 38, name, BLACK, 1);
    }

    // Distribution by percentile: x = -log10(1 - q), so 90, 99, 99.9, 99.99 are evenly spaced.
    let curve: Vec<(f64, f64)> = (0..=400)
        .map(|i| {
            let nines = f64::from(i) / 100.0;
            (nines, h.value_at_quantile(1.0 - 10f64.powf(-nines)) as f64)
        })
        .collect();
    let y_max = decade_ceil(h.max() as f64 * 1.01);
    let y_min = decade_floor((h.min() as f64).min(y_max / 10.0));
    let bottom = Panel { left: 90, top: 420, width: 880, height: 280, x_max: 4.0, y_min, y_max };
    bottom.frame(&mut canvas, "latency by percentile (from intended send time)");
    for (nines, label) in [(0.0, "0"), (1.0, "90"), (2.0, "99"), (3.0, "99.9"), (4.0, "99.99")] {
        let (px, py) = bottom.at(nines, bottom.y_min);
        canvas.line((px, bottom.top), (px, py), GRID, 1);
        canvas.text(px - 4 * label.len() as i64, py + 6, label, BLACK, 1);
    }
    if !h.is_empty() {
        bottom.polyline(&mut canvas, &curve, BLUE);
    }
    canvas.text(bottom.left + 380, bottom.top + bottom.height + 22, "percentile", BLACK, 1);

    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, W as u32, H as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas.px)?;
    writer.finish()?;
    Ok(png)
}

/// Writes the chart to `path`.
pub fn write(summary: &Summary, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, render(summary)?).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::stats::Stats;
    use crate::workload::Class;

    #[test]
    fn renders_a_png_with_the_curves() {
        let mut stats = Stats::default();
        for i in 0..2_000u64 {
            let latency = Duration::from_micros(80 + (i * 37) % 400);
            stats.answer(Class::Recommend, Duration::from_millis(i), latency, true, true, true);
        }
        let summary = Summary {
            transport: "quic",
            op: "recommend".into(),
            connections: 2,
            streams: 1,
            offered_rate: 1000.0,
            window: Duration::from_secs(2),
            warmup: Duration::ZERO,
            stats,
        };
        let png = render(&summary).expect("renders");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("valid PNG");
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut pixels).expect("frame");
        assert_eq!(reader.info().width as usize, W);
        let count = |c: [u8; 3]| pixels.chunks(3).filter(|p| *p == c).count();
        assert!(count(BLUE) > 500, "the p50 and percentile curves are drawn");
        assert!(count(ORANGE) > 200, "the p99 curve is drawn");
        assert_eq!((decade_floor(80.0), decade_ceil(479.0)), (10.0, 1000.0));
        assert_eq!([latency_label(10.0), latency_label(1000.0), latency_label(2e6)], ["10us", "1ms", "2s"]);
        // The axis is logarithmic: 100 us sits halfway between 10 us and 1 ms.
        let p = Panel { left: 0, top: 0, width: 100, height: 100, x_max: 1.0, y_min: 10.0, y_max: 1000.0 };
        assert_eq!(p.at(0.0, 100.0).1, 50);
    }
}
