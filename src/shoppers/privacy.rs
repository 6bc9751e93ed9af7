//! The shoppers' privacy choices: customers who asked to be forgotten (erased) and customers who
//! opted out of personalisation. Both are checked on the request path (a set lookup, a shard read
//! lock), rebuilt at start from the journal where every choice is recorded, and handed to the next
//! training run, which drops erased customers' rows.

use dashmap::DashSet;

/// What the store must not do with a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Personalise normally.
    None,
    /// Serve by segment and popularity only, never from the customer's own vector.
    OptedOut,
    /// Forget: the customer is unknown to every answer, audience and session.
    Erased,
}

/// The erased and opted-out customers.
#[derive(Debug, Default)]
pub struct Privacy {
    erased: DashSet<Box<str>>,
    opted_out: DashSet<Box<str>>,
}

impl Privacy {
    /// What applies to `customer`.
    #[inline]
    pub fn choice(&self, customer: &str) -> Choice {
        if customer.is_empty() || (self.erased.is_empty() && self.opted_out.is_empty()) {
            return Choice::None;
        }
        if self.erased.contains(customer) {
            Choice::Erased
        } else if self.opted_out.contains(customer) {
            Choice::OptedOut
        } else {
            Choice::None
        }
    }

    /// Records an erasure (it also ends an opt-out: there is nothing left to personalise).
    pub fn erase(&self, customer: &str) {
        self.opted_out.remove(customer);
        self.erased.insert(customer.into());
    }

    /// Records an opt-out (`out`) or an opt-in.
    pub fn opt_out(&self, customer: &str, out: bool) {
        if out {
            self.opted_out.insert(customer.into());
        } else {
            self.opted_out.remove(customer);
        }
    }

    /// Erased customers, sorted (for the trainer).
    pub fn erased(&self) -> Vec<String> {
        let mut v: Vec<String> = self.erased.iter().map(|c| c.to_string()).collect();
        v.sort_unstable();
        v
    }

    /// (erased, opted out) counts.
    pub fn counts(&self) -> (usize, usize) {
        (self.erased.len(), self.opted_out.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_are_remembered_and_erasure_wins() {
        let p = Privacy::default();
        assert_eq!(p.choice("c1"), Choice::None);
        p.opt_out("c1", true);
        assert_eq!(p.choice("c1"), Choice::OptedOut);
        p.opt_out("c1", false);
        assert_eq!(p.choice("c1"), Choice::None);
        p.opt_out("c2", true);
        p.erase("c2");
        assert_eq!(p.choice("c2"), Choice::Erased);
        assert_eq!(p.erased(), ["c2"]);
        assert_eq!(p.counts(), (1, 0));
        assert_eq!(p.choice(""), Choice::None);
    }
}
