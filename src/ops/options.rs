//! The request options every operation that suggests products shares: `exclude`, `signals` and
//! `max_per_aisle` (fields 20-22 of its protobuf message, the same names in JSON).

use serde::Deserialize;

use super::OpError;
use crate::engine::Options;
use crate::ids::IdList;
use crate::protocol::{self, WireError};

/// The request options every product-suggesting operation shares (fields 20-22 of its message,
/// `exclude`, `signals` and `max_per_aisle` in JSON).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionArgs {
    /// Product ids never to return.
    pub exclude: IdList,
    /// Signals the shopper states.
    pub signals: IdList,
    /// At most this many items per aisle (0 = no limit).
    pub max_per_aisle: u32,
}

impl OptionArgs {
    /// Field numbers of the options in every message that carries them.
    pub const EXCLUDE: u32 = 20;
    /// See [`OptionArgs::EXCLUDE`].
    pub const SIGNALS: u32 = 21;
    /// See [`OptionArgs::EXCLUDE`].
    pub const MAX_PER_AISLE: u32 = 22;

    /// Clears every option.
    pub fn clear(&mut self) {
        self.exclude.clear();
        self.signals.clear();
        self.max_per_aisle = 0;
    }

    /// Reads field `tag` if it is an option; false when it is not one.
    pub fn decode_field(&mut self, tag: u32, v: protocol::Value<'_>) -> Result<bool, WireError> {
        match tag {
            Self::EXCLUDE => self.exclude.push(v.str(tag)?),
            Self::SIGNALS => self.signals.push(v.str(tag)?),
            Self::MAX_PER_AISLE => self.max_per_aisle = v.varint(tag)?.min(u32::MAX as u64) as u32,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Sets the options from their JSON form.
    pub fn set_json(&mut self, j: OptionsJson) {
        self.exclude = j.exclude.iter().collect();
        self.signals = j.signals.iter().collect();
        self.max_per_aisle = j.max_per_aisle;
    }

    /// Checks the ids' lengths and hands the options to the engine.
    pub fn checked(&self) -> Result<Options<'_>, OpError> {
        super::check_ids("excluded product", &self.exclude)?;
        super::check_ids("signal", &self.signals)?;
        Ok(Options { exclude: &self.exclude, signals: &self.signals, max_per_aisle: self.max_per_aisle })
    }
}

/// The options in a JSON body (flattened into each operation's body).
#[derive(Debug, Default, Deserialize)]
pub struct OptionsJson {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    signals: Vec<String>,
    #[serde(default)]
    max_per_aisle: u32,
}
