//! The buy-again model's time features, defined once for the trainer that fits on them and the
//! engine that computes them at request time with the caller's clock. Pure functions: no clock,
//! no model.

/// Days beyond which "since the last purchase" stops counting.
pub const MAX_DAYS: f64 = 365.0;
/// Dueness (days since the last purchase / usual gap in days) beyond which it stops counting.
pub const MAX_DUE: f64 = 10.0;

/// The buy-again model's two time features: log days since the last purchase, and log dueness
/// (0 without a usual gap). The trainer fits on exactly these.
#[inline]
pub fn time_features(days_since: f64, gap_days: f32) -> [f64; 2] {
    let days = days_since.clamp(0.0, MAX_DAYS);
    let due = if gap_days > 0.0 { (days / gap_days as f64).min(MAX_DUE) } else { 0.0 };
    [days.ln_1p(), due.ln_1p()]
}
