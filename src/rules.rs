//! Hard rules from shopper signals, resolved against one model's vocabularies.
//!
//! The config says, in the shop's words, "`lifestyle:vegetarian` excludes `meat` and `fish`". A
//! model numbers its signals and tags; `Rules` turns each rule into a tag bitmask per signal once,
//! when a model is loaded, so a request ORs a few words and tests one AND per candidate. Whatever
//! the vectors say, a product whose tags hit the mask is never offered.
//!
//! Rules fail closed: a rule naming a signal no customer of the model carries, or a tag no product
//! has, is almost always a typo (`lifestyle:vegeterian`) that would silently offer meat to
//! vegetarians, so it refuses the model (at start and at reload) unless the rule says
//! `optional = true`.

use crate::config::RuleConfig;
use crate::model::Model;
use crate::model::view::u64s;

/// Exclusion masks per signal of one model.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// Words per mask (the model's `tag_words`).
    words: usize,
    /// `signals * words`: tags excluded for a shopper carrying signal `s`.
    masks: Vec<u64>,
    /// Products carrying each tag, to estimate how much of the catalogue a mask removes.
    tag_products: Vec<u32>,
    /// Products in the catalogue.
    products: usize,
    /// Every signal a shopper may state, by name: each rule's signal (with the tags the model
    /// knows, even when no customer of the model carries it) and each signal of the model (an
    /// empty mask unless a rule names it). Index into `stated_masks` (`words` per entry).
    stated: std::collections::HashMap<Box<str>, usize>,
    stated_masks: Vec<u64>,
    /// Optional rules' entries that name a signal or tag this model does not know (logged).
    pub warnings: Vec<String>,
}

/// Rules that name what the model does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the config's rules name what this model does not know, so they could not be enforced: {}; \
     fix the names, or mark a rule `optional = true` if the model may lack them",
    .0.join("; ")
)]
pub struct RuleError(pub Vec<String>);

impl Rules {
    /// Resolves `rules` against `model`; refuses rules that name an unknown signal or tag unless
    /// they are optional.
    pub fn resolve(rules: &[RuleConfig], model: &Model) -> Result<Rules, RuleError> {
        let p = &model.data().products;
        let words = p.tag_words.to_native() as usize;
        let signals = &model.data().signals.names;
        let mut out = Rules {
            words,
            masks: vec![0; signals.len() * words],
            tag_products: vec![0; p.tag_names.len()],
            products: p.ids.len(),
            stated: std::collections::HashMap::new(),
            stated_masks: Vec::new(),
            warnings: Vec::new(),
        };
        for i in 0..signals.len() {
            out.stated_entry(signals.get(i));
        }
        for bits in u64s(&p.tags).chunks_exact(words.max(1)) {
            for (t, count) in out.tag_products.iter_mut().enumerate() {
                if bits[t / 64] & (1 << (t % 64)) != 0 {
                    *count += 1;
                }
            }
        }
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        for rule in rules {
            let mut unknown = |what: String| {
                if rule.optional { warnings.push(format!("optional {what}")) } else { errors.push(what) }
            };
            let s = signals.position(&rule.signal);
            if s.is_none() {
                unknown(format!("rule for {:?}: no customer in this model carries the signal", rule.signal));
            }
            let entry = out.stated_entry(&rule.signal);
            for tag in &rule.exclude_tags {
                match (p.tag_names.position(tag), s) {
                    (Some(t), s) => {
                        if let Some(s) = s {
                            out.masks[s * words + t / 64] |= 1 << (t % 64);
                        }
                        out.stated_masks[entry * words + t / 64] |= 1 << (t % 64);
                    }
                    (None, _) => unknown(format!("rule for {:?}: no product is tagged {tag:?}", rule.signal)),
                }
            }
        }
        out.warnings = warnings;
        if errors.is_empty() { Ok(out) } else { Err(RuleError(errors)) }
    }

    /// The entry of stated signal `name`, added (with an empty mask) if new.
    fn stated_entry(&mut self, name: &str) -> usize {
        let next = self.stated.len();
        let words = self.words;
        let entry = *self.stated.entry(name.into()).or_insert(next);
        if entry == next {
            self.stated_masks.resize((next + 1) * words, 0);
        }
        entry
    }

    /// ORs the exclusions of a signal the shopper states into `mask`; false when neither a rule
    /// nor the model knows the name (the caller refuses the request: fail closed).
    #[inline]
    pub fn add_stated(&self, name: &str, mask: &mut [u64]) -> bool {
        let Some(&entry) = self.stated.get(name) else { return false };
        let m = &self.stated_masks[entry * self.words..(entry + 1) * self.words];
        mask.iter_mut().zip(m).for_each(|(a, b)| *a |= b);
        true
    }

    /// Words per mask.
    pub fn words(&self) -> usize {
        self.words
    }

    /// ORs the mask of signal `s` into `mask`.
    #[inline]
    pub fn add_signal(&self, s: u32, mask: &mut [u64]) {
        let start = s as usize * self.words;
        if let Some(m) = self.masks.get(start..start + self.words) {
            for (a, b) in mask.iter_mut().zip(m) {
                *a |= b;
            }
        }
    }

    /// True when a product with tag words `tags` is excluded by `mask`.
    #[inline]
    pub fn excludes(mask: &[u64], tags: &[u64]) -> bool {
        mask.iter().zip(tags).any(|(m, t)| m & t != 0)
    }

    /// Upper estimate of the fraction of the catalogue that `mask` removes (tags may overlap).
    pub fn excluded_fraction(&self, mask: &[u64]) -> f64 {
        let mut removed = 0u64;
        for (t, &n) in self.tag_products.iter().enumerate() {
            if mask.get(t / 64).is_some_and(|w| w & (1 << (t % 64)) != 0) {
                removed += n as u64;
            }
        }
        (removed as f64 / self.products.max(1) as f64).min(1.0)
    }
}
