//! The messages of the operations that describe customers (`audience`, `segments`: ops and
//! marketing), derived by hand with prost and mirrored field for field in
//! `proto/endcap.proto`; apart from `messages.rs` only to keep both files readable. The answers
//! also derive `serde::Serialize`: their JSON is the HTTP answer.

/// `audience`: who buys a product (ops devices). Exactly one of `product`, `products`, `aisle`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AudienceRequest {
    /// One product id.
    #[prost(string, tag = "1")]
    pub product: String,
    /// Several product ids: the audience of the set.
    #[prost(string, repeated, tag = "2")]
    pub products: Vec<String>,
    /// An aisle: the audience of its products.
    #[prost(string, tag = "3")]
    pub aisle: String,
    /// Customers wanted; 0 = the server default.
    #[prost(uint32, tag = "4")]
    pub k: u32,
    /// Only customers carrying every one of these signals.
    #[prost(string, repeated, tag = "5")]
    pub signals: Vec<String>,
    /// Only customers of this segment.
    #[prost(uint32, optional, tag = "6")]
    pub segment: Option<u32>,
}

/// Answer to `audience`.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct Audience {
    /// The customers, most likely first.
    #[prost(message, repeated, tag = "1")]
    pub customers: Vec<AudienceMember>,
    /// What type of customer they are.
    #[prost(message, optional, tag = "2")]
    pub customer_type: Option<CustomerType>,
    /// Server time spent, microseconds.
    #[prost(uint64, tag = "3")]
    pub took_us: u64,
}

/// One customer of an audience.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct AudienceMember {
    /// Customer id.
    #[prost(string, tag = "1")]
    pub customer_id: String,
    /// Inner product of the customer's and the product's vectors: comparable within one answer.
    #[prost(float, tag = "2")]
    pub score: f32,
    /// The customer's segment, when the model has segments.
    #[prost(uint32, optional, tag = "3")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
}

/// The type of customer in a group: over-represented signals and the segment mix.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct CustomerType {
    /// Customers in the group.
    #[prost(uint32, tag = "1")]
    pub size: u32,
    /// Customers in the model.
    #[prost(uint64, tag = "2")]
    pub population: u64,
    /// The smallest group a line describes (k-anonymity).
    #[prost(uint32, tag = "3")]
    pub min_group: u32,
    /// Signals over-represented in the group, highest lift first.
    #[prost(message, repeated, tag = "4")]
    pub signals: Vec<SignalShare>,
    /// The group's segments, largest first.
    #[prost(message, repeated, tag = "5")]
    pub segments: Vec<SegmentShare>,
}

/// How common a signal is in a group and overall.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct SignalShare {
    /// The signal.
    #[prost(string, tag = "1")]
    pub signal: String,
    /// Members of the group carrying it.
    #[prost(uint32, tag = "2")]
    pub count: u32,
    /// Share of the group.
    #[prost(float, tag = "3")]
    pub share: f32,
    /// Share of all customers.
    #[prost(float, tag = "4")]
    pub overall: f32,
    /// `share / overall`.
    #[prost(float, tag = "5")]
    pub lift: f32,
}

/// How common a segment is in a group and overall.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct SegmentShare {
    /// The segment.
    #[prost(uint32, tag = "1")]
    pub segment: u32,
    /// Members of the group in it.
    #[prost(uint32, tag = "2")]
    pub count: u32,
    /// Share of the group.
    #[prost(float, tag = "3")]
    pub share: f32,
    /// Share of all customers.
    #[prost(float, tag = "4")]
    pub overall: f32,
    /// `share / overall`.
    #[prost(float, tag = "5")]
    pub lift: f32,
}

/// `segments`: no fields.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct SegmentsRequest {}

/// Answer to `segments`.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct Segments {
    /// Every segment, by number.
    #[prost(message, repeated, tag = "1")]
    pub segments: Vec<SegmentProfile>,
    /// Customers in the model.
    #[prost(uint64, tag = "2")]
    pub population: u64,
    /// The smallest group a profile describes.
    #[prost(uint32, tag = "3")]
    pub min_group: u32,
}

/// One segment.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct SegmentProfile {
    /// Its number (as `AudienceRequest.segment` takes it).
    #[prost(uint32, tag = "1")]
    pub segment: u32,
    /// Customers in it.
    #[prost(uint32, tag = "2")]
    pub size: u32,
    /// Share of all customers.
    #[prost(float, tag = "3")]
    pub share: f32,
    /// Its best sellers (none when smaller than `min_group`).
    #[prost(message, repeated, tag = "4")]
    pub top_products: Vec<ProductRef>,
    /// Its over-represented signals (none when smaller than `min_group`).
    #[prost(message, repeated, tag = "5")]
    pub signals: Vec<SignalShare>,
}

/// A product, named.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize)]
pub struct ProductRef {
    /// Product id.
    #[prost(string, tag = "1")]
    pub product_id: String,
    /// Product name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// Aisle name.
    #[prost(string, tag = "3")]
    pub aisle: String,
}
