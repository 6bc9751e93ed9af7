//! `[audience]`: defaults and limits of audiences and customer types (`audience`, `segments`),
//! and the minimum group size that keeps them from describing an identifiable person.

use serde::{Deserialize, Serialize};

/// Audiences and customer types (`audience`, `segments`): an ops/marketing question, answered
/// only for groups large enough never to describe an identifiable person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudienceConfig {
    /// Customers returned when a request does not say (`k` = 0).
    pub default_k: u32,
    /// The largest `k` a request may ask for; more is refused (INVALID_ARGUMENT). At most 100000.
    pub max_k: u32,
    /// The smallest group an answer describes (k-anonymity): an audience's size, and the members
    /// of a customer type's or segment profile's line. At least 2.
    pub min_group: u32,
    /// Most products one audience request may name.
    pub max_products: usize,
    /// Most signals one audience request may filter by.
    pub max_signals: usize,
}

impl Default for AudienceConfig {
    fn default() -> Self {
        Self { default_k: 100, max_k: 5_000, min_group: 20, max_products: 200, max_signals: 8 }
    }
}

impl AudienceConfig {
    /// Checks the limits; the message names the keys at fault.
    pub(super) fn validate(&self) -> Result<(), String> {
        let a = self;
        if !(2..=100_000).contains(&a.min_group) || a.max_k > 100_000 || !(a.min_group..=a.max_k).contains(&a.default_k)
        {
            return Err(format!(
                "audience.min_group = {}, audience.default_k = {}, audience.max_k = {}: these must satisfy \
                 2 <= min_group <= default_k <= max_k <= 100000",
                a.min_group, a.default_k, a.max_k
            ));
        }
        if a.max_products == 0 || a.max_signals > 64 {
            return Err("audience.max_products must be at least 1 and audience.max_signals at most 64".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn bad_audience_limits_are_refused_naming_the_key() {
        let e = Config::parse("[audience]\nmin_group = 1\n").unwrap_err().to_string();
        assert!(e.contains("audience.min_group = 1"), "{e}");
        let e = Config::parse("[audience]\nmax_k = 10\n").unwrap_err().to_string();
        assert!(e.contains("audience.max_k = 10"), "{e}");
        let e = Config::parse("[audience]\nmax_signals = 65\n").unwrap_err().to_string();
        assert!(e.contains("audience.max_signals"), "{e}");
        assert!(Config::parse("[audience]\nmin_group = 50\ndefault_k = 50\n").is_ok());
    }
}
