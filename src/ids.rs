//! `IdList`: a list of ids (product ids in a basket, say) packed into one string, so that a
//! request decoded into a reused list allocates nothing once the list has grown to its usual size.
//! A leaf module: it depends on nothing in endcap, and the protocol codec, the operations and the
//! engine all use it.

/// Longest id (customer, product) accepted, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Ids packed end to end in one buffer, with the end offset of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdList {
    bytes: String,
    ends: Vec<u32>,
}

/// An empty list, for queries that carry none.
pub static EMPTY: IdList = IdList::new();

impl IdList {
    /// An empty list (no allocation).
    pub const fn new() -> IdList {
        IdList { bytes: String::new(), ends: Vec::new() }
    }

    /// Empties the list, keeping its capacity.
    #[inline]
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Appends `id`. Lists are bounded by the frame size (64 KiB by default), far below 4 GiB.
    #[inline]
    pub fn push(&mut self, id: &str) {
        self.bytes.push_str(id);
        self.ends.push(self.bytes.len() as u32);
    }

    /// Number of ids.
    #[inline]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no ids.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Id `i`, if there is one.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.bytes.get(start..end)
    }

    /// The ids in order.
    #[inline]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        (0..self.len()).map(|i| self.get(i).unwrap_or(""))
    }

    /// Bytes of the longest id (0 when empty).
    pub fn longest(&self) -> usize {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&e| {
                let n = e as usize - start;
                start = e as usize;
                n
            })
            .max()
            .unwrap_or(0)
    }
}

impl<S: AsRef<str>> FromIterator<S> for IdList {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> IdList {
        let mut list = IdList::new();
        for id in iter {
            list.push(id.as_ref());
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_reads_back_and_reuses_its_buffers() {
        let mut l: IdList = ["p1", "", "p300"].into_iter().collect();
        assert_eq!(l.len(), 3);
        assert_eq!(l.iter().collect::<Vec<_>>(), ["p1", "", "p300"]);
        assert_eq!((l.get(2), l.get(3), l.longest()), (Some("p300"), None, 4));
        let (bytes, ends) = (l.bytes.capacity(), l.ends.capacity());
        l.clear();
        assert!(l.is_empty() && l.iter().next().is_none());
        l.push("p9");
        assert_eq!((l.bytes.capacity(), l.ends.capacity()), (bytes, ends));
        assert!(EMPTY.is_empty());
    }
}
