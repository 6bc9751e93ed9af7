//! The synthetic demo store: a supermarket catalogue, customers, social signals and purchase
//! history with known structure planted in it.
//!
//! It exists so that every other part of endcap (model builder, index, engine, server, load
//! generator, trainer, evaluation) can be exercised end to end without real retail data, and so that
//! tests can check answers against the truth: which taste each customer was given, which products
//! were planted as bundles, which customers are vegetarian. The same spec and seed give the same store
//! on every machine, because all randomness comes from [`SplitMix64`] streams keyed by
//! (seed, purpose, index) rather than from the order in which work happens to run (the thread count
//! does not change the output). One caveat: normals, Zipf weights and prices go through the
//! platform's `ln`, `cos`, `exp` and `powf`; a libm that rounds differently could move vector values
//! in their last bits, and a discrete draw only if a uniform lands exactly on a moved boundary.
//!
//! What it must not do: depend on any endcap module but `rng` and `model::input` (no engine, no I/O
//! other than [`DemoStore::write_csv`]), nor compute what the trainer is meant to learn (co-purchase
//! neighbours and repeat statistics are left empty in [`DemoStore::model_input`]).
//!
//! Units: prices are cents (`products.csv` writes the integer number of cents); timestamps are unix
//! seconds within [`HISTORY_DAYS`] days before [`EPOCH_TS`].

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use crate::model::input::{CustomerInput, ModelInput, ProductInput, SegmentInput};
use crate::rng::SplitMix64;

/// The fixed "now" of the demo store (2025-11-23T00:00:00Z): purchases happen before it.
pub const EPOCH_TS: i64 = 1_763_856_000;
/// How many days of purchase history the demo store has.
pub const HISTORY_DAYS: i64 = 180;

/// The planted tastes; a customer's `planted_taste` and each aisle's links index into this list.
pub const TASTES: [&str; 24] = [
    "healthy",
    "family",
    "gourmet",
    "budget",
    "bbq",
    "baking",
    "party",
    "baby",
    "pet",
    "asian-cooking",
    "italian",
    "breakfast",
    "mexican",
    "plant-based",
    "seafood",
    "snacking",
    "coffee-tea",
    "wine",
    "beer",
    "fitness",
    "home-care",
    "beauty-care",
    "convenience",
    "sweet-tooth",
];

/// How common each taste is as a customer's taste (relative weights, same order as [`TASTES`]).
const TASTE_PREVALENCE: [f64; 24] = [
    1.3, 1.6, 0.8, 1.4, 0.9, 0.7, 0.8, 0.6, 0.9, 0.7, 0.9, 1.0, 0.7, 0.6, 0.5, 1.1, 0.9, 0.7, 0.8, 0.8, 1.0, 0.8, 1.1,
    0.9,
];

/// The music genres carried as `music:*` signals.
pub const MUSIC: [&str; 6] = ["jazz", "pop", "rock", "classical", "hiphop", "country"];

/// Each taste's two favourite genres (indexes into [`MUSIC`]), so music correlates with taste.
const TASTE_MUSIC: [(usize, usize); 24] = [
    (1, 3), // healthy: pop, classical
    (1, 5), // family: pop, country
    (0, 3), // gourmet: jazz, classical
    (5, 1), // budget: country, pop
    (5, 2), // bbq: country, rock
    (3, 1), // baking: classical, pop
    (1, 4), // party: pop, hiphop
    (1, 3), // baby: pop, classical
    (5, 2), // pet: country, rock
    (1, 0), // asian-cooking: pop, jazz
    (0, 3), // italian: jazz, classical
    (1, 5), // breakfast: pop, country
    (4, 1), // mexican: hiphop, pop
    (0, 1), // plant-based: jazz, pop
    (0, 2), // seafood: jazz, rock
    (4, 2), // snacking: hiphop, rock
    (0, 3), // coffee-tea: jazz, classical
    (0, 3), // wine: jazz, classical
    (2, 5), // beer: rock, country
    (4, 1), // fitness: hiphop, pop
    (1, 5), // home-care: pop, country
    (1, 4), // beauty-care: pop, hiphop
    (4, 2), // convenience: hiphop, rock
    (1, 4), // sweet-tooth: pop, hiphop
];

/// Weights of an aisle's first, second and third taste link.
const LINK_WEIGHTS: [f32; 3] = [1.0, 0.6, 0.4];
/// Zipf exponent of product popularity inside an aisle.
const ZIPF_EXPONENT: f64 = 0.8;
/// Probability that the other members of a planted bundle join an order with a drawn member.
const BUNDLE_JOIN: f64 = 0.6;
/// Probability that an item is a re-buy of something the customer bought in an earlier order.
const REBUY: f64 = 0.25;
/// The store's own brand: about 12% of products, sold cheaper.
const STORE_BRAND: &str = "Endcap Value";

// Stream salts: one per purpose, so adding draws to one purpose never shifts another's stream.
const SALT_TASTE: u64 = 0x7A57E;
const SALT_AISLE: u64 = 0xA151E;
const SALT_ALLOC: u64 = 0xA110C;
const SALT_ITEM: u64 = 0x17E5;
const SALT_PRODUCT: u64 = 0x9200;
const SALT_BUNDLE: u64 = 0xB0D1E;
const SALT_CUSTOMER: u64 = 0xC057;

/// What demo store to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSpec {
    /// Number of products in the catalogue.
    pub products: usize,
    /// Number of customers.
    pub customers: usize,
    /// Seed of every random draw; same seed, same store.
    pub seed: u64,
    /// Embedding width of the planted vectors.
    pub dim: usize,
}

impl Default for DemoSpec {
    /// A small store: 5,000 products, 20,000 customers, seed 42, 64 dimensions.
    fn default() -> Self {
        Self { products: 5_000, customers: 20_000, seed: 42, dim: 64 }
    }
}

impl DemoSpec {
    /// A large store: 50,000 products, 1,000,000 customers (about 30 million purchase lines).
    pub fn store_1m() -> Self {
        Self { products: 50_000, customers: 1_000_000, seed: 42, dim: 64 }
    }
}

/// A physical zone of the store and the aisles in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// Zone name as used in config and requests (e.g. `chilled`).
    pub name: &'static str,
    /// Names of the aisles in this zone.
    pub aisles: Vec<&'static str>,
}

/// The zones in display order; every aisle is in exactly one.
const ZONES: [&str; 10] = [
    "fresh",
    "chilled",
    "bakery-deli",
    "frozen",
    "pantry",
    "snacks",
    "drinks",
    "household",
    "health-beauty",
    "baby-pet",
];

/// The demo store's physical zones and the aisles in each (every aisle in exactly one zone).
pub fn zones() -> Vec<Zone> {
    ZONES
        .iter()
        .map(|&zone| Zone {
            name: zone,
            aisles: DEPARTMENTS
                .iter()
                .filter(|d| d.zone == zone)
                .flat_map(|d| d.aisles.iter().map(|a| a.name))
                .collect(),
        })
        .collect()
}

/// The departments and the aisles in each, in catalogue order.
pub fn departments() -> Vec<(&'static str, Vec<&'static str>)> {
    DEPARTMENTS.iter().map(|d| (d.name, d.aisles.iter().map(|a| a.name).collect())).collect()
}

/// Signal-driven exclusions the generator honours: a customer carrying the signal never buys a
/// product with any of the tags. Vegans carry both signals.
pub fn diet_rules() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![(VEGETARIAN, vec!["meat", "fish"]), (VEGAN, vec!["meat", "fish", "dairy", "eggs"])]
}

/// The store layout and diet rules as the `[[zones]]` and `[[rules]]` tables of
/// `config/endcap.toml`, so the shipped config can be kept identical to the demo store.
pub fn layout_toml() -> String {
    // Names are plain text without quotes or backslashes (checked by a test), so basic TOML
    // strings need no escaping.
    let list = |items: &[&str]| {
        let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut out = String::new();
    for zone in zones() {
        out.push_str(&format!("[[zones]]\nname = \"{}\"\naisles = {}\n\n", zone.name, list(&zone.aisles)));
    }
    for (signal, tags) in diet_rules() {
        out.push_str(&format!("[[rules]]\nsignal = \"{signal}\"\nexclude_tags = {}\n\n", list(&tags)));
    }
    out
}

const VEGETARIAN: &str = "lifestyle:vegetarian";
const VEGAN: &str = "lifestyle:vegan";

/// The generator's diet class for a signal of [`diet_rules`]: 1 + its position (0 eats anything).
fn diet_class(signal: &str) -> usize {
    1 + diet_rules().iter().position(|(s, _)| *s == signal).expect("diet signals are listed in diet_rules")
}

/// A customer's planted truth.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoCustomer {
    /// Planted tastes (indexes into [`TASTES`]) with mix weights; the first is the primary.
    pub tastes: Vec<(u8, f32)>,
    /// Social signals (`namespace:value`) with weights in (0, 1].
    pub signals: Vec<(&'static str, f32)>,
}

/// One purchase line, stored compactly (16 bytes) because store-1m has ~30 million of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purchase {
    /// Customer index (`c{customer}`).
    pub customer: u32,
    /// Order index (`o{order}`), unique per (customer, basket).
    pub order: u32,
    /// Product index (`p{product}`).
    pub product: u32,
    /// Unix seconds; the same for every line of an order.
    pub ts: u32,
}

/// An aisle of the demo store.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoAisle {
    /// Aisle name (no commas).
    pub name: &'static str,
    /// Department the aisle belongs to.
    pub department: &'static str,
    /// Zone the aisle is in.
    pub zone: &'static str,
    /// Linked tastes (indexes into [`TASTES`]) with link weights, strongest first.
    pub tastes: Vec<(usize, f32)>,
}

/// Row counts (header excluded) and bytes of the files written by [`DemoStore::write_csv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CsvSummary {
    /// Rows in `products.csv`.
    pub products: usize,
    /// Rows in `purchases.csv`.
    pub purchases: usize,
    /// Rows in `social.csv`.
    pub social: usize,
    /// Bytes written over all three files.
    pub bytes: u64,
}

/// A generated store: catalogue, customers, purchases and the planted truth behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoStore {
    /// What was generated.
    pub spec: DemoSpec,
    /// The aisles (the catalogue's, whether or not they received products).
    pub aisles: Vec<DemoAisle>,
    /// The catalogue; ids are `p0`, `p1`, ...
    pub products: Vec<ProductInput>,
    /// Index into `aisles` of each product.
    pub product_aisle: Vec<u16>,
    /// Planted popularity weight of each product (Zipf inside its aisle).
    pub product_popularity: Vec<f32>,
    /// Customers (ids `c0`, `c1`, ...) with their planted tastes and signals.
    pub customers: Vec<DemoCustomer>,
    /// Purchase lines, grouped by customer, then by order in time order.
    pub purchases: Vec<Purchase>,
    /// Number of orders (order ids are `o0` .. `o{orders-1}`).
    pub orders: usize,
    /// Planted bundles: groups of 2-3 product indexes from complementary aisles.
    pub bundles: Vec<Vec<u32>>,
    /// Planted taste directions, `TASTES.len() * dim`, row-major.
    pub taste_vectors: Vec<f32>,
    /// Planted product vectors, `products.len() * dim`, row-major; norms carry popularity.
    pub product_vectors: Vec<f32>,
    /// Planted customer vectors, `customers.len() * dim`, row-major.
    pub customer_vectors: Vec<f32>,
}

// ---------------------------------------------------------------------------------------------
// The catalogue: departments -> aisles -> item nouns, written as compact strings.
// Aisle `tastes` are names from TASTES separated by spaces (strongest first, at most three);
// `tags` are space separated and apply to every item; items are `;` separated, each optionally
// followed by `|tag tag -tag` to add tags to (or remove aisle tags from) that item.
// ---------------------------------------------------------------------------------------------

struct DeptDef {
    name: &'static str,
    zone: &'static str,
    /// Whether "Organic" variants make sense here.
    food: bool,
    brands: &'static [&'static str],
    aisles: &'static [AisleDef],
}

struct AisleDef {
    name: &'static str,
    tastes: &'static str,
    tags: &'static str,
    price_cents: (u32, u32),
    sizes: &'static [&'static str],
    items: &'static str,
}

const fn a(
    name: &'static str,
    tastes: &'static str,
    tags: &'static str,
    price_cents: (u32, u32),
    sizes: &'static [&'static str],
    items: &'static str,
) -> AisleDef {
    AisleDef { name, tastes, tags, price_cents, sizes, items }
}

const S_PRODUCE: &[&str] = &["per kg", "500g", "1kg bag", "2 pack", "4 pack", ""];
const S_WEIGHT: &[&str] = &["100g", "200g", "250g", "400g", "500g", "1kg"];
const S_MEAT: &[&str] = &["300g", "500g", "750g", "1kg", "family pack"];
const S_LIQUID: &[&str] = &["250ml", "500ml", "1L", "2L"];
const S_DRINK: &[&str] = &["330ml", "500ml", "1.5L", "6 x 330ml", "12 x 330ml"];
const S_BEER: &[&str] = &["6 x 330ml", "12 x 330ml", "24 x 330ml", "500ml", "4 x 440ml"];
const S_WINE: &[&str] = &["750ml", "1.5L", "375ml"];
const S_SPIRIT: &[&str] = &["700ml", "1L", "350ml"];
const S_PACK: &[&str] = &["", "2 pack", "4 pack", "6 pack", "8 pack"];
const S_LOAF: &[&str] = &["", "400g", "800g", "large"];
const S_COUNT: &[&str] = &["10 ct", "20 ct", "30 ct", "60 ct", "100 ct"];
const S_HOUSE: &[&str] = &["500ml", "1L", "2L", "refill", "value pack"];
const S_CARE: &[&str] = &["50ml", "100ml", "250ml", "400ml", ""];
const S_EACH: &[&str] = &[""];
const S_DIAPER: &[&str] = &["24 ct", "40 ct", "60 ct", "jumbo pack"];
const S_PET: &[&str] = &["400g", "1.5kg", "3kg", "10kg", "12 x 85g"];

const FOOD_ADJECTIVES: &[&str] = &[
    "Classic",
    "Original",
    "Premium",
    "Everyday",
    "Homestyle",
    "Select",
    "Family Size",
    "Light",
    "Signature",
    "Farmhouse",
];
const OTHER_ADJECTIVES: &[&str] =
    &["Classic", "Premium", "Sensitive", "Fresh Scent", "Ultra", "Everyday", "Eco", "Gentle"];

// A data table: one aisle a line reads better than rustfmt's one argument a line.
#[rustfmt::skip]
const DEPARTMENTS: &[DeptDef] = &[
    DeptDef {
        name: "Produce",
        zone: "fresh",
        food: true,
        brands: &["Greenfield Farms", "Sunny Acres", "Orchard Row", "Hillside Growers", "Valley Fresh"],
        aisles: &[
            a("Fresh Fruit", "healthy breakfast family", "", (79, 599), S_PRODUCE,
              "Gala Apples;Honeycrisp Apples;Bananas;Pears;Peaches;Plums;Nectarines;Kiwi Fruit;Cherries;Apricots"),
            a("Berries & Grapes", "healthy breakfast sweet-tooth", "", (199, 699), S_PRODUCE,
              "Strawberries;Blueberries;Raspberries;Blackberries;Red Grapes;Green Grapes;Cranberries"),
            a("Citrus & Tropical", "healthy seafood mexican", "", (49, 499), S_PRODUCE,
              "Lemons;Limes;Oranges;Mandarins;Grapefruit;Mangoes;Pineapple;Papaya;Avocados;Passion Fruit"),
            a("Salad Greens", "healthy plant-based fitness", "", (129, 499), S_PRODUCE,
              "Romaine Lettuce;Baby Spinach;Arugula;Mixed Salad Leaves;Kale;Iceberg Lettuce;Watercress;Salad Kit"),
            a("Fresh Vegetables", "healthy family plant-based", "", (69, 499), S_PRODUCE,
              "Broccoli;Carrots;Cucumbers;Zucchini;Bell Peppers;Green Beans;Cauliflower;Celery;Asparagus;Sweet Corn;Cherry Tomatoes;Vine Tomatoes"),
            a("Potatoes & Onions", "budget family bbq", "", (59, 449), S_PRODUCE,
              "Russet Potatoes;Baby Potatoes;Sweet Potatoes;Yellow Onions;Red Onions;Garlic;Shallots;Ginger Root"),
            a("Fresh Herbs", "gourmet italian asian-cooking", "", (99, 299), S_EACH,
              "Basil;Cilantro;Flat-Leaf Parsley;Mint;Rosemary;Thyme;Dill;Lemongrass;Chives"),
            a("Mushrooms", "gourmet asian-cooking plant-based", "", (149, 599), S_WEIGHT,
              "White Mushrooms;Cremini Mushrooms;Portobello Mushrooms;Shiitake Mushrooms;Oyster Mushrooms;Enoki Mushrooms"),
            a("Cut Fruit & Veg", "convenience healthy fitness", "", (199, 599), S_WEIGHT,
              "Fruit Salad Cup;Melon Chunks;Veggie Sticks;Stir-Fry Vegetable Mix;Spiralized Zucchini;Apple Slices"),
            a("Tofu & Plant Protein", "plant-based asian-cooking healthy", "vegan", (199, 649), S_WEIGHT,
              "Firm Tofu;Silken Tofu;Smoked Tofu;Tempeh;Seitan|gluten;Plant-Based Mince;Veggie Burgers;Falafel"),
        ],
    },
    DeptDef {
        name: "Meat & Seafood",
        zone: "fresh",
        food: true,
        brands: &["Butcher's Block", "Prairie Ranch", "Hillside Farms", "Coastal Catch", "Tidewater"],
        aisles: &[
            a("Beef", "bbq family gourmet", "meat", (499, 2999), S_MEAT,
              "Ribeye Steak;Sirloin Steak;Beef Brisket;Stewing Beef;Beef Short Ribs;Beef Tenderloin;Flank Steak;Beef Roast"),
            a("Ground Meat", "family budget bbq", "meat", (349, 1299), S_MEAT,
              "Lean Ground Beef;Ground Beef;Ground Turkey;Ground Pork;Ground Chicken;Meatballs;Burger Patties"),
            a("Chicken", "family healthy fitness", "meat", (399, 1599), S_MEAT,
              "Chicken Breasts;Chicken Thighs;Chicken Drumsticks;Chicken Wings;Whole Chicken;Chicken Tenders;Chicken Kebabs"),
            a("Pork & Lamb", "bbq gourmet", "meat", (449, 2499), S_MEAT,
              "Pork Chops;Pork Tenderloin;Pork Ribs;Pork Shoulder;Lamb Chops;Leg of Lamb;Lamb Shanks"),
            a("Sausages & Bacon", "bbq breakfast budget", "meat", (299, 999), S_MEAT,
              "Smoked Bacon;Streaky Bacon;Breakfast Sausages;Bratwurst;Italian Sausages;Chorizo;Hot Dogs;Pancetta"),
            a("Fresh Fish", "seafood healthy gourmet", "fish", (699, 3499), S_MEAT,
              "Atlantic Salmon Fillets;Cod Fillets;Tuna Steaks;Sea Bass;Trout;Halibut;Tilapia;Mackerel"),
            a("Shellfish", "seafood gourmet party", "fish", (799, 3999), S_MEAT,
              "Raw Shrimp;Cooked Prawns;Mussels;Scallops;Crab Legs;Lobster Tails;Clams;Calamari"),
            a("Smoked & Cured Fish", "seafood gourmet breakfast", "fish", (499, 1999), S_WEIGHT,
              "Smoked Salmon;Gravlax;Smoked Mackerel;Pickled Herring;Smoked Trout;Salmon Roe"),
        ],
    },
    DeptDef {
        name: "Dairy & Eggs",
        zone: "chilled",
        food: true,
        brands: &["Meadowbrook", "Alpine Dairy", "Clover Hill", "Happy Cow", "Greenfield"],
        aisles: &[
            a("Milk", "family breakfast budget", "dairy", (99, 599), S_LIQUID,
              "Whole Milk;Semi-Skimmed Milk;Skim Milk;Lactose-Free Milk;Chocolate Milk;Buttermilk;Goat Milk"),
            a("Plant Milk", "plant-based healthy coffee-tea", "vegan", (199, 499), S_LIQUID,
              "Oat Milk;Almond Milk|nuts;Soy Milk;Coconut Milk Drink;Rice Milk;Cashew Milk|nuts;Barista Oat Milk"),
            a("Cheese", "family italian budget", "dairy", (249, 899), S_WEIGHT,
              "Cheddar;Mozzarella;Grated Parmesan;Swiss Cheese;Monterey Jack;Colby;String Cheese;Cheese Slices;Shredded Mexican Blend;Cream Cheese"),
            a("Specialty Cheese", "gourmet wine italian", "dairy", (449, 1999), S_WEIGHT,
              "Brie;Camembert;Aged Gouda;Manchego;Gorgonzola;Parmigiano Reggiano;Goat Cheese;Gruyere;Feta;Halloumi"),
            a("Yogurt", "healthy breakfast fitness", "dairy", (99, 699), S_WEIGHT,
              "Greek Yogurt;Vanilla Yogurt;Strawberry Yogurt;Skyr;Kids Yogurt Tubes;Drinkable Yogurt;Coconut Yogurt|-dairy vegan"),
            a("Butter & Spreads", "baking breakfast family", "dairy", (249, 799), S_WEIGHT,
              "Salted Butter;Unsalted Butter;Spreadable Butter;Margarine|-dairy vegan;Ghee;Garlic Butter"),
            a("Cream & Sour Cream", "baking gourmet mexican", "dairy", (149, 549), S_LIQUID,
              "Heavy Cream;Whipping Cream;Sour Cream;Creme Fraiche;Half and Half;Coffee Creamer;Whipped Cream"),
            a("Eggs", "breakfast baking family", "eggs", (249, 899), S_COUNT,
              "Free-Range Eggs;Large Brown Eggs;Large White Eggs;Jumbo Eggs;Liquid Egg Whites;Quail Eggs;Pasture-Raised Eggs"),
            a("Chilled Desserts", "sweet-tooth family", "dairy", (199, 699), S_PACK,
              "Chocolate Pudding;Rice Pudding;Cheesecake Pots|eggs;Tiramisu|eggs gluten;Panna Cotta;Creme Caramel|eggs"),
            a("Fresh Pasta & Sauces", "italian convenience gourmet", "", (299, 899), S_WEIGHT,
              "Fresh Fettuccine|gluten eggs;Spinach Ravioli|gluten eggs dairy;Beef Tortellini|gluten eggs meat;Gnocchi|gluten;Fresh Pesto|dairy nuts;Fresh Marinara Sauce;Alfredo Sauce|dairy"),
            a("Chilled Juice", "breakfast healthy family", "", (199, 799), S_LIQUID,
              "Orange Juice;Apple Juice;Green Juice;Grapefruit Juice;Carrot Ginger Juice;Cold-Pressed Juice;Berry Smoothie"),
        ],
    },
    DeptDef {
        name: "Bakery",
        zone: "bakery-deli",
        food: true,
        brands: &["Hearthstone", "Golden Crust", "Village Bakery", "Rise & Shine"],
        aisles: &[
            a("Bread", "family breakfast budget", "gluten", (149, 599), S_LOAF,
              "White Sandwich Bread;Whole Wheat Bread;Multigrain Bread;Rye Bread;Brioche Loaf|eggs dairy;Sourdough Loaf;Seeded Bread;Raisin Bread"),
            a("Artisan Bread", "gourmet italian wine", "gluten", (299, 799), S_LOAF,
              "Baguette;Ciabatta;Focaccia;Sourdough Boule;Olive Bread;Pretzel Bread;Country Loaf"),
            a("Rolls & Buns", "bbq family party", "gluten", (199, 549), S_PACK,
              "Burger Buns;Hot Dog Buns;Dinner Rolls;Brioche Buns|eggs dairy;Kaiser Rolls;Slider Buns;Sub Rolls"),
            a("Bagels & Muffins", "breakfast coffee-tea", "gluten", (199, 599), S_PACK,
              "Plain Bagels;Everything Bagels;English Muffins;Blueberry Muffins|eggs dairy;Croissants|dairy;Crumpets"),
            a("Cakes & Pastries", "sweet-tooth party coffee-tea", "gluten eggs dairy", (249, 2499), S_PACK,
              "Birthday Cake;Chocolate Fudge Cake;Carrot Cake;Cupcakes;Cinnamon Rolls;Danish Pastries;Eclairs;Apple Pie|-eggs;Doughnuts"),
            a("Tortillas & Wraps", "mexican convenience", "", (199, 499), S_PACK,
              "Flour Tortillas|gluten;Corn Tortillas;Whole Wheat Wraps|gluten;Spinach Wraps|gluten;Taco Shells;Pita Bread|gluten;Naan|gluten dairy"),
            a("Gluten-Free Bakery", "healthy baking", "", (349, 799), S_LOAF,
              "Gluten-Free Bread;Gluten-Free Bagels;Gluten-Free Muffins|eggs;Gluten-Free Pizza Base;Gluten-Free Brownies|eggs dairy"),
        ],
    },
    DeptDef {
        name: "Deli",
        zone: "bakery-deli",
        food: true,
        brands: &["Deli Fresh", "Little Italy", "Counter Classics", "Hearthstone"],
        aisles: &[
            a("Sliced Meats", "convenience family party", "meat", (299, 1199), S_WEIGHT,
              "Sliced Ham;Sliced Turkey;Salami;Prosciutto;Roast Beef;Pastrami;Mortadella;Pepperoni;Chorizo Slices"),
            a("Deli Cheese", "party wine gourmet", "dairy", (299, 1199), S_WEIGHT,
              "Sliced Provolone;Sliced Swiss;Havarti;Smoked Gouda;Pepper Jack;Cheese Platter"),
            a("Prepared Salads", "convenience healthy", "", (299, 899), S_WEIGHT,
              "Potato Salad|eggs;Coleslaw|eggs;Pasta Salad|gluten;Quinoa Salad|vegan;Greek Salad|dairy;Chicken Caesar Salad|meat dairy;Tuna Salad|fish eggs"),
            a("Hot Food", "convenience family", "", (499, 1499), S_EACH,
              "Rotisserie Chicken|meat;Hot Chicken Wings|meat;Mac and Cheese|dairy gluten;Beef Lasagna|meat dairy gluten;Roast Vegetables|vegan;Fried Chicken|meat gluten;Vegetable Curry|vegan"),
            a("Sushi", "asian-cooking seafood convenience", "", (499, 1499), S_PACK,
              "Salmon Nigiri|fish;California Roll|fish;Spicy Tuna Roll|fish;Avocado Maki|vegan;Vegetable Roll|vegan;Shrimp Tempura Roll|fish gluten;Edamame Cup|vegan"),
            a("Dips & Hummus", "party healthy snacking", "", (249, 649), S_WEIGHT,
              "Classic Hummus|vegan;Roasted Red Pepper Hummus|vegan;Tzatziki|dairy;Guacamole|vegan;Spinach Dip|dairy;Baba Ganoush|vegan;French Onion Dip|dairy"),
            a("Olives & Antipasti", "italian wine gourmet", "", (299, 999), S_WEIGHT,
              "Kalamata Olives;Green Olives;Stuffed Peppers;Marinated Artichokes;Sun-Dried Tomatoes;Antipasto Platter|meat dairy;Bocconcini|dairy"),
            a("Sandwiches & Ready Meals", "convenience budget", "", (349, 999), S_EACH,
              "Ham and Cheese Sandwich|meat dairy gluten;Egg Salad Sandwich|eggs gluten;Chicken Wrap|meat gluten;Veggie Wrap|gluten;Chicken Tikka Masala|meat dairy;Vegetable Lasagna|dairy gluten;Beef Stew|meat;Falafel Bowl|vegan"),
        ],
    },
    DeptDef {
        name: "Frozen",
        zone: "frozen",
        food: true,
        brands: &["Arctic Harvest", "Frosty Farms", "Northstar", "Snowpeak"],
        aisles: &[
            a("Frozen Vegetables", "budget healthy family", "frozen", (129, 499), S_WEIGHT,
              "Frozen Peas;Frozen Corn;Frozen Broccoli;Frozen Mixed Vegetables;Frozen Spinach;Frozen Edamame;Frozen Stir-Fry Mix;Frozen Green Beans"),
            a("Frozen Fruit", "healthy fitness breakfast", "frozen", (249, 799), S_WEIGHT,
              "Frozen Berries;Frozen Mango;Frozen Strawberries;Frozen Smoothie Mix;Frozen Cherries;Acai Packs"),
            a("Frozen Pizza", "party family convenience", "frozen gluten dairy", (299, 1099), S_EACH,
              "Pepperoni Pizza|meat;Margherita Pizza;Four Cheese Pizza;Supreme Pizza|meat;BBQ Chicken Pizza|meat;Veggie Pizza;Pizza Rolls|meat;French Bread Pizza"),
            a("Frozen Meals", "convenience budget", "frozen", (249, 899), S_EACH,
              "Chicken Alfredo|meat dairy gluten;Beef Lasagna|meat dairy gluten;Mac and Cheese Bowl|dairy gluten;Bean Burrito|gluten;Egg Fried Rice|eggs;Vegetable Curry|vegan;Shepherd's Pie|meat dairy;Chicken Pot Pie|meat gluten dairy"),
            a("Frozen Meat & Poultry", "family bbq budget", "frozen meat", (399, 1499), S_MEAT,
              "Chicken Nuggets|gluten;Frozen Chicken Breasts;Frozen Burgers;Frozen Meatballs;Frozen Turkey;Frozen Sausages;Frozen Chicken Wings"),
            a("Frozen Seafood", "seafood budget", "frozen fish", (449, 1999), S_MEAT,
              "Frozen Shrimp;Fish Sticks|gluten;Frozen Salmon Fillets;Frozen Cod;Beer-Battered Fish|gluten;Frozen Scallops;Seafood Mix"),
            a("Ice Cream", "sweet-tooth family party", "frozen dairy", (249, 899), S_LIQUID,
              "Vanilla Ice Cream;Chocolate Ice Cream;Cookie Dough Ice Cream|gluten eggs;Mint Chip Ice Cream;Gelato;Ice Cream Sandwiches|gluten;Popsicles|-dairy;Sorbet|-dairy vegan;Frozen Yogurt;Oat Ice Cream|-dairy vegan"),
            a("Frozen Desserts", "sweet-tooth party baking", "frozen", (299, 999), S_EACH,
              "Frozen Cheesecake|dairy eggs gluten;Frozen Apple Pie|gluten dairy;Frozen Pie Crusts|gluten;Whipped Topping|dairy;Mochi;Frozen Brownies|gluten eggs dairy"),
            a("Frozen Breakfast", "breakfast convenience family", "frozen", (249, 799), S_PACK,
              "Frozen Waffles|gluten eggs dairy;Frozen Pancakes|gluten eggs dairy;Breakfast Burritos|eggs meat gluten;Hash Browns;Breakfast Sandwiches|eggs meat gluten;French Toast Sticks|gluten eggs"),
            a("Frozen Potatoes & Fries", "family bbq budget", "frozen", (199, 599), S_WEIGHT,
              "French Fries;Sweet Potato Fries;Potato Wedges;Tater Tots;Onion Rings|gluten;Curly Fries"),
            a("Frozen Plant-Based", "plant-based healthy convenience", "frozen vegan", (299, 899), S_WEIGHT,
              "Frozen Veggie Burgers;Plant-Based Nuggets|gluten;Vegan Sausages;Falafel Bites;Frozen Plant-Based Mince;Vegetable Dumplings|gluten;Cauliflower Rice"),
        ],
    },
    DeptDef {
        name: "Pantry",
        zone: "pantry",
        food: true,
        brands: &["Golden Valley", "Copper Kettle", "Maple Lane", "Nonna's Kitchen", "Spice Route", "Blue Ridge"],
        aisles: &[
            a("Pasta", "italian family budget", "gluten", (99, 499), S_WEIGHT,
              "Spaghetti;Penne;Fusilli;Rigatoni;Linguine;Farfalle;Macaroni;Lasagna Sheets;Orzo;Whole Wheat Spaghetti;Egg Noodles|eggs;Gluten-Free Penne|-gluten"),
            a("Pasta Sauce", "italian family convenience", "", (199, 699), S_WEIGHT,
              "Marinara Sauce;Tomato Basil Sauce;Arrabbiata Sauce;Vodka Sauce|dairy;Bolognese Sauce|meat;Basil Pesto|dairy nuts;Jarred Alfredo Sauce|dairy;Puttanesca Sauce|fish"),
            a("Rice & Grains", "asian-cooking healthy budget", "", (149, 899), S_WEIGHT,
              "Long Grain Rice;Basmati Rice;Jasmine Rice;Brown Rice;Arborio Rice;Quinoa;Couscous|gluten;Bulgur Wheat|gluten;Wild Rice;Sushi Rice"),
            a("Canned Vegetables & Tomatoes", "budget italian family", "", (69, 299), S_WEIGHT,
              "Diced Tomatoes;Crushed Tomatoes;Tomato Paste;Canned Sweet Corn;Canned Green Beans;Canned Peas;Canned Mushrooms;Artichoke Hearts;Sliced Beets"),
            a("Canned Fish & Meat", "budget fitness seafood", "", (99, 599), S_WEIGHT,
              "Tuna in Water|fish;Tuna in Oil|fish;Pink Salmon|fish;Sardines|fish;Anchovies|fish;Corned Beef|meat;Luncheon Meat|meat;Chicken Breast Chunks|meat"),
            a("Soups & Broth", "convenience budget family", "", (99, 499), S_WEIGHT,
              "Chicken Noodle Soup|meat gluten;Tomato Soup;Minestrone;Lentil Soup|vegan;Cream of Mushroom Soup|dairy;Chicken Broth|meat;Beef Broth|meat;Vegetable Broth|vegan;Ramen Noodle Cups|gluten"),
            a("Beans & Legumes", "plant-based budget mexican", "vegan", (79, 349), S_WEIGHT,
              "Black Beans;Kidney Beans;Chickpeas;Pinto Beans;Baked Beans;Refried Beans;Red Lentils;Green Lentils;Cannellini Beans"),
            a("Baking Supplies", "baking sweet-tooth", "", (149, 799), S_WEIGHT,
              "Baking Powder;Baking Soda;Vanilla Extract;Chocolate Chips|dairy;Cocoa Powder;Sprinkles;Food Coloring;Dry Yeast;Cake Mix|gluten;Brownie Mix|gluten;Frosting|dairy;Pie Filling;Ice Cream Cones|gluten"),
            a("Flour & Sugar", "baking budget", "", (99, 699), S_WEIGHT,
              "All-Purpose Flour|gluten;Bread Flour|gluten;Whole Wheat Flour|gluten;Almond Flour|nuts;Granulated Sugar;Brown Sugar;Powdered Sugar;Cornstarch"),
            a("Spices & Seasonings", "gourmet mexican asian-cooking", "", (149, 799), S_WEIGHT,
              "Black Pepper;Sea Salt;Smoked Paprika;Ground Cumin;Cinnamon;Chili Powder;Garlic Powder;Oregano;Curry Powder;Taco Seasoning;Italian Seasoning;Turmeric"),
            a("Oils & Vinegar", "italian gourmet healthy", "", (249, 1999), S_LIQUID,
              "Extra Virgin Olive Oil;Vegetable Oil;Canola Oil;Coconut Oil;Avocado Oil;Sesame Oil;Balsamic Vinegar;Apple Cider Vinegar;Red Wine Vinegar;Cooking Spray"),
            a("Condiments & Dressings", "bbq family budget", "", (129, 599), S_LIQUID,
              "Ketchup;Yellow Mustard;Dijon Mustard;Mayonnaise|eggs;Relish;Ranch Dressing|dairy eggs;Caesar Dressing|dairy eggs fish;Italian Dressing;Hot Sauce;Dill Pickles"),
            a("Sauces & Marinades", "bbq asian-cooking", "", (149, 599), S_LIQUID,
              "BBQ Sauce;Teriyaki Sauce|gluten;Soy Sauce|gluten;Steak Sauce;Buffalo Wing Sauce|dairy;Worcestershire Sauce|fish;Sweet Chili Sauce;Jerk Marinade"),
            a("Spreads & Honey", "breakfast sweet-tooth family", "", (199, 899), S_WEIGHT,
              "Peanut Butter|nuts;Almond Butter|nuts;Strawberry Jam;Raspberry Jam;Honey;Maple Syrup;Chocolate Hazelnut Spread|nuts dairy;Lemon Curd|eggs dairy;Orange Marmalade"),
            a("Asian Foods", "asian-cooking", "", (129, 699), S_WEIGHT,
              "Coconut Milk;Rice Noodles;Udon Noodles|gluten;Ramen Noodles|gluten;Fish Sauce|fish;Oyster Sauce|fish;Hoisin Sauce;Red Curry Paste|fish;Green Curry Paste|fish;Miso Paste;Nori Sheets;Sriracha"),
            a("Mexican Foods", "mexican party", "", (129, 599), S_WEIGHT,
              "Taco Kit|gluten;Enchilada Sauce;Salsa Verde;Pickled Jalapenos;Chipotle Peppers;Tostadas;Refried Black Beans|vegan;Queso Dip|dairy;Mole Sauce|nuts"),
            a("Indian Foods", "asian-cooking gourmet", "", (149, 699), S_WEIGHT,
              "Tikka Masala Sauce|dairy;Korma Sauce|dairy nuts;Mango Chutney;Poppadoms;Garam Masala;Lentil Dal|vegan;Naan Bread|gluten dairy;Vindaloo Paste"),
            a("Italian Specialties", "italian gourmet wine", "", (199, 1499), S_WEIGHT,
              "Dried Porcini;Truffle Oil;Capers;Polenta;Sun-Dried Tomato Paste;Breadsticks|gluten;Amaretti Biscuits|nuts eggs;Panettone|gluten eggs dairy"),
            a("Cereal", "breakfast family", "gluten", (249, 699), S_WEIGHT,
              "Corn Flakes;Bran Flakes;Granola|nuts;Muesli|nuts;Honey Nut Cereal|nuts;Chocolate Cereal;Frosted Flakes;Puffed Rice|-gluten;Fruit Hoops"),
            a("Oatmeal & Hot Cereal", "breakfast healthy fitness", "", (199, 599), S_WEIGHT,
              "Rolled Oats;Steel-Cut Oats;Instant Oatmeal;Maple Brown Sugar Oatmeal;Cream of Wheat|gluten;Overnight Oats|dairy;Porridge Pots"),
            a("Health Foods", "healthy fitness plant-based", "", (299, 2999), S_WEIGHT,
              "Whey Protein Powder|dairy;Chia Seeds;Flax Seeds;Hemp Hearts;Pea Protein Powder|vegan;Superfood Powder;Collagen Powder;Nutritional Yeast|vegan"),
            a("Canned Fruit", "budget sweet-tooth family", "", (99, 399), S_WEIGHT,
              "Peaches in Juice;Fruit Cocktail;Pineapple Chunks;Mandarin Oranges;Applesauce;Jelly Cups;Cranberry Sauce"),
        ],
    },
    DeptDef {
        name: "Snacks",
        zone: "snacks",
        food: true,
        brands: &["Crunch Co", "Happy Snacks", "Trailblazer", "Sweet Tooth Co", "Golden Valley"],
        aisles: &[
            a("Chips & Crisps", "snacking party", "", (149, 549), S_WEIGHT,
              "Potato Chips;Salt and Vinegar Chips;Sour Cream and Onion Chips|dairy;Kettle Chips;Tortilla Chips;Cheese Puffs|dairy;Veggie Straws;BBQ Chips;Pita Chips|gluten"),
            a("Salsa & Dips", "party mexican snacking", "", (199, 549), S_WEIGHT,
              "Chunky Salsa;Mild Salsa;Hot Salsa;Nacho Cheese Dip|dairy;Bean Dip;Pico de Gallo;Artichoke Dip|dairy"),
            a("Crackers", "snacking wine party", "gluten", (149, 599), S_WEIGHT,
              "Saltines;Water Crackers;Cheese Crackers|dairy;Whole Wheat Crackers;Rice Crackers|-gluten;Graham Crackers;Crispbread;Oat Crackers"),
            a("Cookies & Biscuits", "sweet-tooth coffee-tea family", "gluten", (149, 599), S_WEIGHT,
              "Chocolate Chip Cookies|dairy eggs;Oatmeal Raisin Cookies;Shortbread|dairy;Sandwich Cookies;Digestive Biscuits;Ginger Snaps;Wafers;Butter Cookies|dairy eggs"),
            a("Chocolate", "sweet-tooth party", "", (99, 1499), S_WEIGHT,
              "Milk Chocolate Bar|dairy;Dark Chocolate Bar;Chocolate Truffles|dairy;Peanut Butter Cups|dairy nuts;Chocolate Covered Almonds|dairy nuts;Hazelnut Chocolate|dairy nuts;White Chocolate|dairy;Chocolate Gift Box|dairy"),
            a("Candy & Gum", "sweet-tooth party family", "", (99, 499), S_WEIGHT,
              "Gummy Bears;Sour Worms;Licorice|gluten;Lollipops;Jelly Beans;Hard Candy;Chewing Gum;Mints;Marshmallows"),
            a("Nuts & Trail Mix", "snacking healthy fitness", "nuts", (249, 999), S_WEIGHT,
              "Roasted Almonds;Cashews;Mixed Nuts;Pistachios;Salted Peanuts;Walnuts;Trail Mix;Honey Roasted Peanuts;Macadamia Nuts"),
            a("Popcorn & Pretzels", "snacking party budget", "", (149, 499), S_WEIGHT,
              "Microwave Popcorn|dairy;Kettle Corn;Caramel Popcorn|dairy;Pretzel Twists|gluten;Pretzel Rods|gluten;Rice Cakes;Corn Chips"),
            a("Snack Bars", "fitness snacking convenience", "", (199, 799), S_PACK,
              "Granola Bars|gluten;Protein Bars|dairy;Fruit and Nut Bars|nuts;Cereal Bars|gluten;Energy Balls|nuts;Rice Crispy Treats|dairy;Oat Bars|gluten"),
            a("Dried Fruit & Jerky", "snacking fitness healthy", "", (199, 999), S_WEIGHT,
              "Raisins;Dried Apricots;Dried Mango;Dried Cranberries;Prunes;Medjool Dates;Beef Jerky|meat;Turkey Jerky|meat;Fruit Leather"),
        ],
    },
    DeptDef {
        name: "Beverages",
        zone: "drinks",
        food: true,
        brands: &["Clearspring", "Sunpress", "Fizz & Co", "Mountain Peak", "Roast House"],
        aisles: &[
            a("Water", "healthy fitness budget", "", (49, 699), S_DRINK,
              "Spring Water;Mineral Water;Alkaline Water;Water Multipack;Coconut Water;Flavored Water"),
            a("Sparkling Water", "healthy party", "", (79, 699), S_DRINK,
              "Sparkling Water;Lime Sparkling Water;Grapefruit Sparkling Water;Club Soda;Seltzer Variety Pack"),
            a("Soft Drinks", "party family budget", "", (99, 999), S_DRINK,
              "Cola;Diet Cola;Lemon-Lime Soda;Root Beer;Ginger Ale;Orange Soda;Cream Soda;Iced Tea"),
            a("Juice & Lemonade", "family breakfast", "", (149, 699), S_LIQUID,
              "Apple Juice;Cranberry Juice;Grape Juice;Tomato Juice;Pineapple Juice;Juice Boxes;Lemonade;Fruit Punch"),
            a("Sports & Energy Drinks", "fitness snacking", "", (149, 799), S_DRINK,
              "Sports Drink;Electrolyte Drink;Energy Drink|caffeine;Sugar-Free Energy Drink|caffeine;Protein Shake|dairy;Recovery Drink"),
            a("Coffee", "coffee-tea breakfast gourmet", "caffeine", (399, 1899), S_WEIGHT,
              "Ground Coffee;Whole Bean Coffee;Espresso Beans;Decaf Coffee|-caffeine;Instant Coffee;Coffee Pods;Cold Brew;Single-Origin Coffee"),
            a("Tea", "coffee-tea healthy", "", (199, 899), S_COUNT,
              "Black Tea|caffeine;Green Tea|caffeine;Earl Grey|caffeine;Chamomile Tea;Peppermint Tea;Chai|caffeine;Matcha Powder|caffeine;Herbal Tea Variety"),
            a("Kombucha & Wellness Drinks", "healthy plant-based fitness", "", (249, 599), S_DRINK,
              "Kombucha;Ginger Shots;Probiotic Drink;Cold-Pressed Green Juice;Apple Cider Vinegar Drink;Adaptogen Drink"),
            a("Mixers", "party wine", "", (149, 699), S_DRINK,
              "Tonic Water;Ginger Beer;Cocktail Bitters;Margarita Mix;Bloody Mary Mix;Cocktail Cherries;Simple Syrup;Lime Juice"),
        ],
    },
    DeptDef {
        name: "Beer Wine & Spirits",
        zone: "drinks",
        food: true,
        brands: &["Old Harbor", "Riverbend", "Chateau Lune", "Highland Cask", "Vista Valley"],
        aisles: &[
            a("Beer", "beer bbq party", "alcohol gluten", (299, 2999), S_BEER,
              "Lager;Pilsner;Light Beer;Beer Case;Stout;Wheat Beer;Amber Ale;Mexican Lager"),
            a("Craft Beer", "beer gourmet", "alcohol gluten", (399, 2499), S_BEER,
              "IPA;Hazy IPA;Pale Ale;Sour Ale;Porter;Double IPA;Seasonal Ale;Craft Variety Pack"),
            a("Cider & Seltzer", "party beer", "alcohol", (399, 2199), S_BEER,
              "Hard Cider;Hard Seltzer;Rose Cider;Pear Cider;Hard Seltzer Variety Pack;Canned Cocktail"),
            a("Red Wine", "wine gourmet italian", "alcohol", (699, 4999), S_WINE,
              "Cabernet Sauvignon;Merlot;Pinot Noir;Malbec;Shiraz;Chianti;Rioja;Zinfandel;Red Blend"),
            a("White & Rose Wine", "wine seafood gourmet", "alcohol", (699, 3999), S_WINE,
              "Chardonnay;Sauvignon Blanc;Pinot Grigio;Riesling;Rose;Moscato;Albarino"),
            a("Sparkling Wine", "wine party", "alcohol", (899, 7999), S_WINE,
              "Champagne;Prosecco;Cava;Sparkling Rose;Brut;Asti"),
            a("Spirits", "party gourmet", "alcohol", (1499, 5999), S_SPIRIT,
              "Vodka;Gin;White Rum;Spiced Rum;Tequila;Bourbon;Scotch Whisky;Irish Whiskey;Brandy;Coffee Liqueur"),
            a("Alcohol-Free", "healthy fitness beer", "", (199, 1499), S_BEER,
              "Alcohol-Free Lager|gluten;Alcohol-Free IPA|gluten;Alcohol-Free Wine;Alcohol-Free Sparkling;Zero-Proof Spirit"),
        ],
    },
    DeptDef {
        name: "Household",
        zone: "household",
        food: false,
        brands: &["Sparkle", "HomeCare", "FreshNest", "Brightway"],
        aisles: &[
            a("Laundry", "home-care family budget", "", (299, 2499), S_HOUSE,
              "Laundry Detergent;Laundry Pods;Fabric Softener;Dryer Sheets;Stain Remover;Bleach;Color Catcher Sheets"),
            a("Dish Care", "home-care", "", (149, 1499), S_HOUSE,
              "Dish Soap;Dishwasher Tablets;Rinse Aid;Sponges;Scrub Brushes;Dishwasher Cleaner"),
            a("Cleaning Supplies", "home-care", "", (199, 999), S_HOUSE,
              "All-Purpose Cleaner;Glass Cleaner;Bathroom Cleaner;Disinfecting Wipes;Floor Cleaner;Toilet Bowl Cleaner;Microfiber Cloths;Rubber Gloves"),
            a("Paper Products", "home-care family budget", "", (199, 2499), S_PACK,
              "Toilet Paper;Paper Towels;Facial Tissues;Napkins;Paper Plates;Paper Cups"),
            a("Trash & Food Storage", "home-care budget", "", (199, 1299), S_COUNT,
              "Trash Bags;Recycling Bags;Zip Storage Bags;Plastic Wrap;Aluminum Foil;Parchment Paper;Food Containers"),
            a("Party Supplies", "party family", "", (149, 999), S_PACK,
              "Balloons;Birthday Candles;Party Plates;Party Cups;Streamers;Gift Wrap;Greeting Cards;Plastic Cutlery"),
            a("Grill & Outdoor", "bbq party", "", (199, 2999), S_EACH,
              "Charcoal Briquettes;Lighter Fluid;Smoking Wood Chips;Grill Brush;Bamboo Skewers;Disposable Grill Trays;Citronella Candles"),
            a("Kitchenware", "baking gourmet", "", (299, 3999), S_EACH,
              "Baking Sheet;Muffin Tin;Mixing Bowls;Measuring Cups;Kitchen Towels;Oven Mitts;Chef's Knife;Cutting Board"),
            a("Batteries & Light Bulbs", "home-care", "", (199, 2499), S_PACK,
              "AA Batteries;AAA Batteries;LED Light Bulbs;Night Light;Extension Cord;Matches;Household Candles"),
            a("Air Care & Pest Control", "home-care", "", (199, 1299), S_EACH,
              "Air Freshener Spray;Plug-In Air Freshener;Scented Candles;Odor Eliminator;Ant Traps;Mouse Traps"),
        ],
    },
    DeptDef {
        name: "Personal Care",
        zone: "health-beauty",
        food: false,
        brands: &["Pure Glow", "Dermacare", "Fresh Daily", "Botanica", "Smile Bright"],
        aisles: &[
            a("Hair Care", "beauty-care", "", (299, 1999), S_CARE,
              "Shampoo;Conditioner;Dry Shampoo;Hair Mask;Hair Spray;Styling Gel;Hair Oil;Kids Shampoo"),
            a("Skin Care", "beauty-care healthy", "", (499, 4999), S_CARE,
              "Face Wash;Moisturizer;Night Cream;Face Serum;Eye Cream;Sheet Face Masks;Micellar Water;Exfoliating Scrub"),
            a("Oral Care", "beauty-care family", "", (199, 2999), S_EACH,
              "Toothpaste;Toothbrushes;Electric Toothbrush Heads;Mouthwash;Dental Floss;Whitening Strips;Kids Toothpaste"),
            a("Bath & Body", "beauty-care", "", (199, 1499), S_CARE,
              "Body Wash;Bar Soap;Hand Soap;Body Lotion;Bath Bombs;Shower Gel;Hand Cream;Bubble Bath"),
            a("Deodorant & Shaving", "beauty-care fitness", "", (299, 2499), S_EACH,
              "Deodorant;Antiperspirant;Razors;Shaving Cream;Aftershave;Beard Oil;Razor Blades"),
            a("Cosmetics", "beauty-care", "", (399, 2999), S_EACH,
              "Mascara;Lipstick;Foundation;Nail Polish;Eyeliner;Makeup Remover;Lip Balm;Concealer"),
            a("Vitamins & Supplements", "healthy fitness", "", (499, 3999), S_COUNT,
              "Multivitamins;Vitamin D;Vitamin C;Fish Oil Capsules|fish;Probiotics;Magnesium;Iron Tablets;Melatonin;Gummy Vitamins"),
            a("Pain Relief & Cold", "family healthy", "", (399, 1999), S_COUNT,
              "Ibuprofen;Acetaminophen;Cough Syrup;Cold and Flu Tablets;Throat Lozenges;Allergy Relief;Nasal Spray;Antacids"),
            a("First Aid & Sun Care", "family fitness", "", (299, 1999), S_EACH,
              "Bandages;Antiseptic Cream;Sunscreen SPF 50;Sunscreen SPF 30;After-Sun Gel;Insect Repellent;Hand Sanitizer;Instant Cold Packs"),
            a("Feminine Care", "beauty-care", "", (299, 1499), S_COUNT,
              "Tampons;Pads;Liners;Menstrual Cup;Intimate Wash"),
        ],
    },
    DeptDef {
        name: "Baby",
        zone: "baby-pet",
        food: true,
        brands: &["Little Sprout", "Tiny Steps", "Cuddle Cub", "Baby Bloom"],
        aisles: &[
            a("Diapers", "baby family", "baby", (899, 4999), S_DIAPER,
              "Newborn Diapers;Size 1 Diapers;Size 3 Diapers;Size 5 Diapers;Training Pants;Swim Diapers;Overnight Diapers"),
            a("Baby Wipes & Care", "baby", "baby", (199, 1499), S_EACH,
              "Baby Wipes;Sensitive Wipes;Diaper Rash Cream;Baby Lotion;Baby Shampoo;Baby Powder;Baby Oil"),
            a("Baby Food", "baby healthy", "baby", (99, 499), S_PACK,
              "Apple Puree;Sweet Potato Puree;Banana Puree;Mixed Veg Puree;Chicken and Veg Dinner|meat;Baby Oatmeal|gluten;Fruit Pouches;Baby Rice Cereal"),
            a("Baby Formula", "baby", "baby", (1499, 4999), S_WEIGHT,
              "Infant Formula|dairy;Follow-On Formula|dairy;Toddler Milk|dairy;Soy Formula|vegan;Ready-to-Feed Formula|dairy;Hypoallergenic Formula|dairy"),
            a("Baby Snacks", "baby family snacking", "baby", (199, 599), S_PACK,
              "Teething Wafers|gluten;Baby Puffs;Yogurt Melts|dairy;Toddler Crackers|gluten;Fruit Bites;Toddler Veggie Sticks"),
            a("Baby Accessories", "baby", "baby", (299, 2999), S_EACH,
              "Baby Bottles;Pacifiers;Sippy Cups;Bibs;Nursing Pads;Baby Spoons;Teething Rings"),
        ],
    },
    DeptDef {
        name: "Pet",
        zone: "baby-pet",
        food: false,
        brands: &["Happy Paws", "Whisker Co", "Tail Waggers", "Pet Pantry"],
        aisles: &[
            a("Dog Food", "pet", "pet", (199, 5999), S_PET,
              "Dry Dog Food;Wet Dog Food;Puppy Food;Senior Dog Food;Grain-Free Dog Food;Small Breed Dog Food"),
            a("Dog Treats & Toys", "pet", "pet", (199, 1999), S_EACH,
              "Dog Biscuits;Dental Chews;Rawhide Bones;Training Treats;Chew Toys;Tennis Balls;Dog Leash"),
            a("Cat Food", "pet", "pet", (99, 4999), S_PET,
              "Dry Cat Food;Wet Cat Food;Kitten Food;Senior Cat Food;Cat Food Pouches;Indoor Cat Formula"),
            a("Cat Litter & Treats", "pet", "pet", (199, 2499), S_EACH,
              "Clumping Cat Litter;Scented Cat Litter;Cat Treats;Catnip;Cat Toys;Litter Box Liners"),
            a("Pet Supplies", "pet home-care", "pet", (199, 2999), S_EACH,
              "Flea Treatment;Pet Shampoo;Poop Bags;Pet Bowls;Aquarium Flakes;Bird Seed;Small Animal Bedding"),
        ],
    },
];

/// Planted bundle templates: complementary aisles whose products are bought together.
const BUNDLE_TEMPLATES: &[&[&str]] = &[
    &["Pasta", "Pasta Sauce", "Cheese"],
    &["Chips & Crisps", "Salsa & Dips"],
    &["Rolls & Buns", "Ground Meat", "Condiments & Dressings"],
    &["Tortillas & Wraps", "Mexican Foods", "Cheese"],
    &["Bread", "Butter & Spreads"],
    &["Cereal", "Milk"],
    &["Coffee", "Cream & Sour Cream"],
    &["Beer", "Chips & Crisps"],
    &["Red Wine", "Specialty Cheese", "Crackers"],
    &["Diapers", "Baby Wipes & Care"],
    &["Dog Food", "Dog Treats & Toys"],
    &["Cat Food", "Cat Litter & Treats"],
    &["Flour & Sugar", "Baking Supplies", "Eggs"],
    &["Rice & Grains", "Asian Foods", "Tofu & Plant Protein"],
    &["Salad Greens", "Condiments & Dressings"],
    &["Sausages & Bacon", "Eggs", "Bread"],
    &["Grill & Outdoor", "Beef", "Sauces & Marinades"],
    &["Spirits", "Mixers"],
    &["Tea", "Cookies & Biscuits"],
    &["Fresh Fish", "Citrus & Tropical", "White & Rose Wine"],
    &["Party Supplies", "Soft Drinks", "Chips & Crisps"],
    &["Frozen Pizza", "Soft Drinks"],
    &["Oatmeal & Hot Cereal", "Berries & Grapes"],
    &["Yogurt", "Berries & Grapes"],
    &["Artisan Bread", "Olives & Antipasti", "Deli Cheese"],
    &["Fresh Vegetables", "Potatoes & Onions", "Chicken"],
    &["Nuts & Trail Mix", "Dried Fruit & Jerky"],
    &["Ice Cream", "Baking Supplies"],
];

/// One parsed aisle of the catalogue.
struct Aisle {
    name: &'static str,
    department: &'static str,
    zone: &'static str,
    food: bool,
    brands: &'static [&'static str],
    tastes: Vec<(usize, f32)>,
    price_cents: (u32, u32),
    sizes: &'static [&'static str],
    /// Item noun and its final tags (aisle tags merged with the item's own).
    items: Vec<(&'static str, Vec<&'static str>)>,
}

/// Parses the static catalogue. Panics only if the static tables themselves are wrong (tested).
fn catalogue() -> Vec<Aisle> {
    let mut aisles = Vec::new();
    for dept in DEPARTMENTS {
        for def in dept.aisles {
            let tastes = def
                .tastes
                .split_whitespace()
                .zip(LINK_WEIGHTS)
                .map(|(name, w)| {
                    let t = TASTES
                        .iter()
                        .position(|&t| t == name)
                        .expect("catalogue taste names are listed in TASTES (checked by a test)");
                    (t, w)
                })
                .collect();
            let items = def
                .items
                .split(';')
                .map(|item| {
                    let (noun, extra) = item.split_once('|').unwrap_or((item, ""));
                    let mut tags: Vec<&'static str> = def.tags.split_whitespace().collect();
                    for tag in extra.split_whitespace() {
                        if let Some(removed) = tag.strip_prefix('-') {
                            tags.retain(|t| *t != removed);
                        } else if !tags.contains(&tag) {
                            tags.push(tag);
                        }
                    }
                    (noun.trim(), tags)
                })
                .collect();
            aisles.push(Aisle {
                name: def.name,
                department: dept.name,
                zone: dept.zone,
                food: dept.food,
                brands: dept.brands,
                tastes,
                price_cents: def.price_cents,
                sizes: def.sizes,
                items,
            });
        }
    }
    aisles
}

// ---------------------------------------------------------------------------------------------
// Random helpers.
// ---------------------------------------------------------------------------------------------

/// An independent stream for (purpose, index): the same whatever order or thread draws it.
fn stream(seed: u64, salt: u64, index: u64) -> SplitMix64 {
    // SplitMix64's first output is a bijective mix of its seed, so distinct indexes give
    // unrelated starting states rather than shifted copies of one stream.
    let base = SplitMix64::new(seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next_u64();
    SplitMix64::new(SplitMix64::new(base ^ index).next_u64())
}

/// A vector of `dim` standard normals scaled so its expected norm is `norm`.
fn gaussian(rng: &mut SplitMix64, dim: usize, norm: f64) -> Vec<f64> {
    let sigma = norm / (dim.max(1) as f64).sqrt();
    (0..dim).map(|_| rng.normal() * sigma).collect()
}

fn normalize(v: &mut [f64]) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// Index drawn from a cumulative weight table in O(log n); the table must be non-empty.
fn pick(cum: &[f64], rng: &mut SplitMix64) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.next_f64() * total;
    cum.partition_point(|&c| c <= x).min(cum.len().saturating_sub(1))
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Poisson(lambda) by Knuth's product method (lambda is small here).
fn poisson(rng: &mut SplitMix64, lambda: f64) -> usize {
    let limit = (-lambda).exp();
    let mut k = 0;
    let mut p = rng.next_f64();
    while p > limit && k < 64 {
        k += 1;
        p *= rng.next_f64();
    }
    k
}

/// Weight in (0, 1] rounded to hundredths, so CSV round trips are exact.
fn weight_between(rng: &mut SplitMix64, lo: f64, hi: f64) -> f32 {
    let w = lo + (hi - lo) * rng.next_f64();
    ((w * 100.0).round().clamp(1.0, 100.0) / 100.0) as f32
}

// ---------------------------------------------------------------------------------------------
// Draw tables: per diet class, per taste -> aisle and per aisle -> product cumulative weights.
// ---------------------------------------------------------------------------------------------

/// Draw tables for one diet class (class 0 eats anything; class 1 + d honours `diet_rules()[d]`).
struct ClassTables {
    aisle_products: Vec<Vec<u32>>,
    aisle_cum: Vec<Vec<f64>>,
    taste_aisles: Vec<Vec<u16>>,
    taste_cum: Vec<Vec<f64>>,
    /// Fallback when none of a taste's aisles has an allowed product (tiny catalogues).
    any_aisles: Vec<u16>,
    any_cum: Vec<f64>,
}

impl ClassTables {
    fn build(
        aisles: &[Aisle],
        aisle_traffic: &[f64],
        product_aisle: &[u16],
        popularity: &[f32],
        allowed: impl Fn(usize) -> bool,
    ) -> Self {
        let mut aisle_products = vec![Vec::new(); aisles.len()];
        for (p, &a) in product_aisle.iter().enumerate() {
            if allowed(p) {
                aisle_products[a as usize].push(p as u32);
            }
        }
        let aisle_cum: Vec<Vec<f64>> =
            aisle_products.iter().map(|ps| cumulative(ps.iter().map(|&p| popularity[p as usize] as f64))).collect();
        let mut taste_links: Vec<Vec<(u16, f64)>> = vec![Vec::new(); TASTES.len()];
        for (a, aisle) in aisles.iter().enumerate() {
            if aisle_products[a].is_empty() {
                continue;
            }
            for &(t, w) in &aisle.tastes {
                taste_links[t].push((a as u16, w as f64 * aisle_traffic[a]));
            }
        }
        let taste_aisles = taste_links.iter().map(|l| l.iter().map(|&(a, _)| a).collect()).collect();
        let taste_cum = taste_links.iter().map(|l| cumulative(l.iter().map(|&(_, w)| w))).collect();
        let any_aisles: Vec<u16> =
            (0..aisles.len()).filter(|&a| !aisle_products[a].is_empty()).map(|a| a as u16).collect();
        let any_cum = cumulative(any_aisles.iter().map(|&a| aisle_traffic[a as usize]));
        Self { aisle_products, aisle_cum, taste_aisles, taste_cum, any_aisles, any_cum }
    }

    /// A product of `aisle` by popularity, if the aisle has one allowed for this class.
    fn product_in(&self, aisle: usize, rng: &mut SplitMix64) -> Option<u32> {
        let products = &self.aisle_products[aisle];
        if products.is_empty() {
            return None;
        }
        Some(products[pick(&self.aisle_cum[aisle], rng)])
    }

    /// A product for `taste`: an aisle linked to the taste, then a product in it by popularity.
    fn product_for(&self, taste: usize, rng: &mut SplitMix64) -> Option<u32> {
        let (aisles, cum) = if self.taste_aisles[taste].is_empty() {
            (&self.any_aisles, &self.any_cum)
        } else {
            (&self.taste_aisles[taste], &self.taste_cum[taste])
        };
        if aisles.is_empty() {
            return None;
        }
        self.product_in(aisles[pick(cum, rng)] as usize, rng)
    }
}

// ---------------------------------------------------------------------------------------------
// Generation.
// ---------------------------------------------------------------------------------------------

/// Generates the demo store for `spec`, using all available cores; deterministic for a seed.
pub fn generate(spec: &DemoSpec) -> DemoStore {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    generate_with_threads(spec, threads)
}

/// As [`generate`], on `threads` threads; the output does not depend on `threads`.
pub fn generate_with_threads(spec: &DemoSpec, threads: usize) -> DemoStore {
    assert!(
        spec.products < u32::MAX as usize && spec.customers < u32::MAX as usize,
        "demo store sizes must fit in u32 indexes"
    );
    let dim = spec.dim;
    let seed = spec.seed;
    let cat = catalogue();
    let aisles: Vec<DemoAisle> = cat
        .iter()
        .map(|a| DemoAisle { name: a.name, department: a.department, zone: a.zone, tastes: a.tastes.clone() })
        .collect();

    // Taste directions: random unit vectors (nearly orthogonal in 64 dimensions).
    let mut taste_vectors = Vec::with_capacity(TASTES.len() * dim);
    for t in 0..TASTES.len() {
        let mut v = gaussian(&mut stream(seed, SALT_TASTE, t as u64), dim, 1.0);
        normalize(&mut v);
        taste_vectors.extend(v.iter().map(|&x| x as f32));
    }

    // Aisle directions: the taste mix plus an aisle-specific part, so aisles sharing a taste are
    // near but distinguishable. Traffic varies by aisle (some aisles are simply busier).
    let mut aisle_vectors = Vec::with_capacity(cat.len());
    let mut aisle_traffic = Vec::with_capacity(cat.len());
    for (a, aisle) in cat.iter().enumerate() {
        let mut rng = stream(seed, SALT_AISLE, a as u64);
        let mut v = gaussian(&mut rng, dim, 0.35);
        for &(t, w) in &aisle.tastes {
            for (x, &tv) in v.iter_mut().zip(&taste_vectors[t * dim..(t + 1) * dim]) {
                *x += w as f64 * tv as f64;
            }
        }
        normalize(&mut v);
        aisle_vectors.push(v);
        aisle_traffic.push(0.5 + rng.next_f64());
    }

    let (products, product_aisle, product_popularity, product_vectors) = generate_products(spec, &cat, &aisle_vectors);

    let diet_masks = diet_masks(&products);
    let classes: Vec<ClassTables> = (0..=diet_rules().len())
        .map(|class| {
            ClassTables::build(&cat, &aisle_traffic, &product_aisle, &product_popularity, |p| {
                class == 0 || diet_masks[p] & (1 << (class - 1)) == 0
            })
        })
        .collect();

    let bundles = plant_bundles(spec, &cat, &classes[0]);
    let mut bundle_of = vec![u32::MAX; products.len()];
    for (b, members) in bundles.iter().enumerate() {
        for &p in members {
            bundle_of[p as usize] = b as u32;
        }
    }

    let ctx = CustomerContext {
        seed,
        dim,
        taste_vectors: &taste_vectors,
        taste_cum: cumulative(TASTE_PREVALENCE),
        classes: &classes,
        bundles: &bundles,
        bundle_of: &bundle_of,
        diet_masks: &diet_masks,
        vegetarian_class: diet_class(VEGETARIAN),
        vegan_class: diet_class(VEGAN),
    };
    let (customers, customer_vectors, purchases, orders) = generate_customers(&ctx, spec.customers, threads.max(1));

    DemoStore {
        spec: *spec,
        aisles,
        products,
        product_aisle,
        product_popularity,
        customers,
        purchases,
        orders,
        bundles,
        taste_vectors,
        product_vectors,
        customer_vectors,
    }
}

/// Bit `d` set when the product is excluded by `diet_rules()[d]`.
fn diet_masks(products: &[ProductInput]) -> Vec<u8> {
    let rules = diet_rules();
    products
        .iter()
        .map(|p| {
            rules.iter().enumerate().fold(0u8, |mask, (d, (_, excluded))| {
                if p.tags.iter().any(|t| excluded.contains(&t.as_str())) { mask | 1 << d } else { mask }
            })
        })
        .collect()
}

type Products = (Vec<ProductInput>, Vec<u16>, Vec<f32>, Vec<f32>);

/// The catalogue: products spread over aisles, named, tagged, priced, with planted vectors.
fn generate_products(spec: &DemoSpec, cat: &[Aisle], aisle_vectors: &[Vec<f64>]) -> Products {
    let dim = spec.dim;
    let n = spec.products;
    let mut rng = stream(spec.seed, SALT_ALLOC, 0);

    // How many products each aisle gets: proportional to a jittered item count, at least one
    // each when there are enough products (largest-remainder rounding keeps the total exact).
    let weights: Vec<f64> = cat.iter().map(|a| a.items.len() as f64 * (0.6 + 0.8 * rng.next_f64())).collect();
    let floor = usize::from(n >= cat.len());
    let spare = n - floor * cat.len();
    let total: f64 = weights.iter().sum();
    let mut counts: Vec<usize> = Vec::with_capacity(cat.len());
    let mut remainders: Vec<(f64, usize)> = Vec::with_capacity(cat.len());
    for (a, w) in weights.iter().enumerate() {
        let exact = spare as f64 * w / total;
        counts.push(floor + exact.floor() as usize);
        remainders.push((exact - exact.floor(), a));
    }
    let short = n - counts.iter().sum::<usize>();
    remainders.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    for &(_, a) in remainders.iter().take(short) {
        counts[a] += 1;
    }

    // Shuffle the slots so product ids say nothing about aisles, then rank products inside each
    // aisle in id-independent random order for the Zipf popularity.
    let mut slots: Vec<u16> = counts.iter().enumerate().flat_map(|(a, &c)| std::iter::repeat_n(a as u16, c)).collect();
    for i in (1..slots.len()).rev() {
        slots.swap(i, rng.below(i + 1));
    }
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); cat.len()];
    for (p, &a) in slots.iter().enumerate() {
        members[a as usize].push(p as u32);
    }
    let mut popularity = vec![0f32; n];
    let mut scale = vec![1f64; n];
    for list in &mut members {
        for i in (1..list.len()).rev() {
            list.swap(i, rng.below(i + 1));
        }
        let zipf: Vec<f64> = (0..list.len()).map(|r| 1.0 / ((r + 1) as f64).powf(ZIPF_EXPONENT)).collect();
        let mean = zipf.iter().sum::<f64>() / list.len().max(1) as f64;
        for (&p, &z) in list.iter().zip(&zipf) {
            popularity[p as usize] = z as f32;
            // Norms carry popularity, damped so taste still dominates the inner product.
            scale[p as usize] = (z / mean).powf(0.2).clamp(0.4, 3.0);
        }
    }

    let mut products = Vec::with_capacity(n);
    let mut vectors = Vec::with_capacity(n * dim);
    for (p, &a16) in slots.iter().enumerate() {
        let a = a16 as usize;
        let aisle = &cat[a];
        let mut rng = stream(spec.seed, SALT_PRODUCT, p as u64);
        let item = rng.below(aisle.items.len());
        let (noun, item_tags) = &aisle.items[item];
        let mut tags: Vec<String> = item_tags.iter().map(|t| t.to_string()).collect();
        let mut name = String::with_capacity(48);
        let mut price_factor = 1.0;
        if rng.chance(0.12) {
            name.push_str(STORE_BRAND);
            price_factor *= 0.75;
        } else {
            name.push_str(aisle.brands[rng.below(aisle.brands.len())]);
        }
        let adjectives = if aisle.food { FOOD_ADJECTIVES } else { OTHER_ADJECTIVES };
        if rng.chance(0.4) {
            let adj = adjectives[rng.below(adjectives.len())];
            if adj == "Premium" || adj == "Signature" {
                price_factor *= 1.25;
            }
            name.push(' ');
            name.push_str(adj);
        }
        if aisle.food && rng.chance(0.12) {
            name.push_str(" Organic");
            tags.push("organic".to_string());
            price_factor *= 1.3;
        }
        name.push(' ');
        name.push_str(noun);
        let size = aisle.sizes[rng.below(aisle.sizes.len())];
        if !size.is_empty() {
            name.push(' ');
            name.push_str(size);
        }
        let (lo, hi) = aisle.price_cents;
        let raw = lo as f64 * (hi as f64 / lo as f64).powf(rng.next_f64()) * price_factor;
        // Shelf prices end in 9 (e.g. 349 cents).
        let cents = ((raw / 10.0).round() as u32).max(1) * 10 - 1;
        let price_cents = if rng.chance(0.02) { None } else { Some(cents) };

        // Vector: aisle direction + a part shared by every brand of the same item + own noise,
        // scaled by popularity.
        let mut item_rng = stream(spec.seed, SALT_ITEM, (a * 1024 + item) as u64);
        let item_part = gaussian(&mut item_rng, dim, 0.35);
        let own = gaussian(&mut rng, dim, 0.25);
        let s = scale[p];
        for d in 0..dim {
            vectors.push(((aisle_vectors[a][d] + item_part[d] + own[d]) * s) as f32);
        }
        products.push(ProductInput {
            id: format!("p{p}"),
            name,
            aisle: aisle.name.to_string(),
            department: aisle.department.to_string(),
            tags,
            price_cents,
        });
    }
    (products, slots, popularity, vectors)
}

/// Plants bundles: products from complementary aisles, each product in at most one bundle.
fn plant_bundles(spec: &DemoSpec, cat: &[Aisle], tables: &ClassTables) -> Vec<Vec<u32>> {
    let templates: Vec<Vec<usize>> = BUNDLE_TEMPLATES
        .iter()
        .map(|names| {
            names
                .iter()
                .map(|name| {
                    cat.iter()
                        .position(|a| a.name == *name)
                        .expect("bundle templates name catalogue aisles (checked by a test)")
                })
                .collect()
        })
        .collect();
    let target = (spec.products / 16).min(400);
    let mut taken = vec![false; spec.products];
    let mut bundles = Vec::with_capacity(target);
    for b in 0..target {
        let mut rng = stream(spec.seed, SALT_BUNDLE, b as u64);
        let template = &templates[b % templates.len()];
        // Three-aisle templates sometimes plant only a pair, so bundles are "2-3 products".
        let size = if template.len() == 3 && rng.chance(0.3) { 2 } else { template.len() };
        let mut members = Vec::with_capacity(size);
        for &aisle in &template[..size] {
            let found = (0..8).filter_map(|_| tables.product_in(aisle, &mut rng)).find(|&p| !taken[p as usize]);
            match found {
                Some(p) => members.push(p),
                None => break,
            }
        }
        if members.len() == size {
            members.iter().for_each(|&p| taken[p as usize] = true);
            bundles.push(members);
        }
    }
    bundles
}

/// What every customer's generation reads.
struct CustomerContext<'a> {
    seed: u64,
    dim: usize,
    taste_vectors: &'a [f32],
    taste_cum: Vec<f64>,
    classes: &'a [ClassTables],
    bundles: &'a [Vec<u32>],
    bundle_of: &'a [u32],
    diet_masks: &'a [u8],
    vegetarian_class: usize,
    vegan_class: usize,
}

type Customers = (Vec<DemoCustomer>, Vec<f32>, Vec<Purchase>, usize);

/// Customers, their vectors and purchases, in contiguous ranges on `threads` threads. Each customer
/// draws from its own stream, so the result is the same for any thread count.
fn generate_customers(ctx: &CustomerContext<'_>, n: usize, threads: usize) -> Customers {
    let dim = ctx.dim;
    let mut vectors = vec![0f32; n * dim];
    let per = n.div_ceil(threads).max(1);
    let parts: Vec<(Vec<DemoCustomer>, Vec<Purchase>, u32)> = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(threads);
        let mut rest: &mut [f32] = &mut vectors;
        let mut start = 0;
        while start < n {
            let end = (start + per).min(n);
            let (out, tail) = std::mem::take(&mut rest).split_at_mut((end - start) * dim);
            rest = tail;
            let range = start..end;
            handles.push(scope.spawn(move || customer_range(ctx, range, out)));
            start = end;
        }
        handles.into_iter().map(|h| h.join().expect("demo generator thread panicked")).collect()
    });

    let lines: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut customers = Vec::with_capacity(n);
    let mut purchases = Vec::with_capacity(lines);
    let mut orders: u32 = 0;
    for (part_customers, part_purchases, part_orders) in parts {
        customers.extend(part_customers);
        purchases.extend(part_purchases.into_iter().map(|mut line| {
            line.order += orders;
            line
        }));
        orders += part_orders;
    }
    (customers, vectors, purchases, orders as usize)
}

/// Generates customers `range` (vectors into `out`); order numbers are local to the range.
fn customer_range(
    ctx: &CustomerContext<'_>,
    range: Range<usize>,
    out: &mut [f32],
) -> (Vec<DemoCustomer>, Vec<Purchase>, u32) {
    let dim = ctx.dim;
    let mut customers = Vec::with_capacity(range.len());
    let mut purchases: Vec<Purchase> = Vec::with_capacity(range.len() * 32);
    let mut orders: u32 = 0;
    let span = (HISTORY_DAYS * 86_400) as u64;
    let start_ts = (EPOCH_TS - HISTORY_DAYS * 86_400) as u64;
    let mut order_lines: Vec<u32> = Vec::with_capacity(32);
    let mut times: Vec<u64> = Vec::with_capacity(16);

    for (k, c) in range.clone().enumerate() {
        let mut rng = stream(ctx.seed, SALT_CUSTOMER, c as u64);

        // Tastes: 1-3 distinct, the primary weighted most.
        let n_tastes = match rng.next_f64() {
            x if x < 0.3 => 1,
            x if x < 0.75 => 2,
            _ => 3,
        };
        let mut tastes: Vec<(u8, f32)> = Vec::with_capacity(n_tastes);
        while tastes.len() < n_tastes {
            let t = pick(&ctx.taste_cum, &mut rng) as u8;
            if tastes.iter().all(|&(x, _)| x != t) {
                let w = if tastes.is_empty() { 1.0 } else { (0.25 + 0.45 * rng.next_f64()) as f32 };
                tastes.push((t, w));
            }
        }
        let has = |name: &str| tastes.iter().position(|&(t, _)| TASTES[t as usize] == name);

        // Lifestyle signals, correlated with tastes. Vegans also carry the vegetarian signal.
        let mut signals: Vec<(&'static str, f32)> = Vec::with_capacity(4);
        let p_veg = if has("plant-based").is_some() {
            0.6
        } else if has("bbq").is_some() || has("seafood").is_some() {
            0.0
        } else if has("healthy").is_some() {
            0.15
        } else {
            0.045
        };
        let mut diet_class = 0;
        if rng.chance(p_veg) {
            signals.push((VEGETARIAN, weight_between(&mut rng, 0.6, 1.0)));
            diet_class = ctx.vegetarian_class;
            let p_vegan = if has("plant-based").is_some() { 0.45 } else { 0.15 };
            if rng.chance(p_vegan) {
                signals.push((VEGAN, weight_between(&mut rng, 0.6, 1.0)));
                diet_class = ctx.vegan_class;
            }
        }
        let by_rank = |pos: Option<usize>, first: f64, later: f64, none: f64| match pos {
            Some(0) => first,
            Some(_) => later,
            None => none,
        };
        // The earlier of family/baby decides how strong the link to parenthood is.
        let family = match (has("family"), has("baby")) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        let p_parent = by_rank(family, 0.75, 0.5, 0.15);
        if rng.chance(p_parent) {
            signals.push(("lifestyle:parent", weight_between(&mut rng, 0.5, 1.0)));
        }
        if rng.chance(by_rank(has("pet"), 0.92, 0.65, 0.15)) {
            signals.push(("lifestyle:pet_owner", weight_between(&mut rng, 0.5, 1.0)));
        }
        // Music for most customers, usually a favourite of their primary taste.
        if rng.chance(0.85) {
            let genre = |rng: &mut SplitMix64, taste: usize| {
                if rng.chance(0.7) {
                    let (a, b) = TASTE_MUSIC[taste];
                    if rng.chance(0.65) { a } else { b }
                } else {
                    rng.below(MUSIC.len())
                }
            };
            let first = genre(&mut rng, tastes[0].0 as usize);
            signals.push((music_signal(first), weight_between(&mut rng, 0.5, 1.0)));
            if rng.chance(0.35) {
                let taste = tastes.get(1).map_or(tastes[0].0, |t| t.0) as usize;
                let second = genre(&mut rng, taste);
                if second != first {
                    signals.push((music_signal(second), weight_between(&mut rng, 0.1, 0.6)));
                }
            }
        }

        // Vector: the weighted taste mix plus personal noise.
        let noise = gaussian(&mut rng, dim, 0.3);
        let v = &mut out[k * dim..(k + 1) * dim];
        for (x, e) in v.iter_mut().zip(&noise) {
            *x = *e as f32;
        }
        for &(t, w) in &tastes {
            for (x, &tv) in v.iter_mut().zip(&ctx.taste_vectors[t as usize * dim..(t as usize + 1) * dim]) {
                *x += w * tv;
            }
        }

        // Orders: times sorted and strictly increasing inside the history window.
        let table = &ctx.classes[diet_class];
        let taste_weights = cumulative(tastes.iter().map(|&(_, w)| w as f64));
        let n_orders = 1 + poisson(&mut rng, 3.0);
        times.clear();
        times.extend((0..n_orders).map(|_| rng.below(span as usize - 64) as u64));
        times.sort_unstable();
        for i in 1..times.len() {
            if times[i] <= times[i - 1] {
                times[i] = times[i - 1] + 1;
            }
        }
        let customer_start = purchases.len();
        for &t in &times {
            let order_start = purchases.len();
            order_lines.clear();
            let n_items = 2 + rng.below(11);
            for _ in 0..n_items {
                // Staples: a share of items are re-buys from earlier orders ("buy it again").
                let product = if order_start > customer_start && rng.chance(REBUY) {
                    Some(purchases[customer_start + rng.below(order_start - customer_start)].product)
                } else {
                    table.product_for(tastes[pick(&taste_weights, &mut rng)].0 as usize, &mut rng)
                };
                let Some(product) = product else { continue };
                add_line(&mut order_lines, product);
                let b = ctx.bundle_of[product as usize];
                if b != u32::MAX {
                    for &other in &ctx.bundles[b as usize] {
                        let allowed = diet_class == 0 || ctx.diet_masks[other as usize] & (1 << (diet_class - 1)) == 0;
                        if other != product && allowed && rng.chance(BUNDLE_JOIN) {
                            add_line(&mut order_lines, other);
                        }
                    }
                }
            }
            if order_lines.is_empty() {
                continue;
            }
            let ts = (start_ts + t) as u32;
            purchases.extend(order_lines.iter().map(|&product| Purchase {
                customer: c as u32,
                order: orders,
                product,
                ts,
            }));
            orders += 1;
        }
        customers.push(DemoCustomer { tastes, signals });
    }
    (customers, purchases, orders)
}

/// Adds a product to an order unless it is already in it (orders are small, a scan is cheapest).
fn add_line(order: &mut Vec<u32>, product: u32) {
    if !order.contains(&product) {
        order.push(product);
    }
}

fn music_signal(genre: usize) -> &'static str {
    const SIGNALS: [&str; 6] =
        ["music:jazz", "music:pop", "music:rock", "music:classical", "music:hiphop", "music:country"];
    SIGNALS[genre]
}

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
    pub fn train_data(&self) -> crate::train::TrainData {
        use crate::train::data::Purchases;
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
        crate::train::TrainData {
            products: self.products.clone(),
            customers: (0..self.customers.len()).map(|c| format!("c{c}")).collect(),
            purchases,
            orders: self.orders,
            signals,
            social,
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
    /// taste. Co-purchase and repeat statistics are left for the trainer.
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
            customers,
            customer_vectors: self.customer_vectors.clone(),
            signal_vectors,
            co_purchase: Vec::new(),
            repeat: Vec::new(),
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
            b"product_id,name,aisle,department,tags,price\n",
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
fn push_field(buf: &mut Vec<u8>, field: &str) {
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
fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
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
fn push_weight(buf: &mut Vec<u8>, weight: f32) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::sync::OnceLock;

    /// A store big enough for stable rates, small enough for unoptimised test builds.
    fn small() -> &'static DemoStore {
        static STORE: OnceLock<DemoStore> = OnceLock::new();
        STORE.get_or_init(|| generate(&DemoSpec { products: 3_000, customers: 6_000, seed: 7, dim: 32 }))
    }

    fn has_signal(customer: &DemoCustomer, signal: &str) -> bool {
        customer.signals.iter().any(|&(s, _)| s == signal)
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
    }

    #[test]
    fn same_seed_same_store_whatever_the_threads_and_other_seed_differs() {
        let spec = DemoSpec { products: 800, customers: 1_500, seed: 1, dim: 16 };
        let one = generate_with_threads(&spec, 1);
        let three = generate_with_threads(&spec, 3);
        assert!(one == three, "same seed must give the same store on any thread count");
        let other = generate_with_threads(&DemoSpec { seed: 2, ..spec }, 2);
        assert_ne!(one.purchases, other.purchases);
        assert_ne!(one.product_vectors, other.product_vectors);
        assert_ne!(one.customer_vectors, other.customer_vectors);
        assert_ne!(
            one.products.iter().map(|p| &p.name).collect::<Vec<_>>(),
            other.products.iter().map(|p| &p.name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn counts_match_the_spec_and_ids_are_unique() {
        let store = small();
        let spec = store.spec;
        assert_eq!(store.products.len(), spec.products);
        assert_eq!(store.product_aisle.len(), spec.products);
        assert_eq!(store.product_popularity.len(), spec.products);
        assert_eq!(store.product_vectors.len(), spec.products * spec.dim);
        assert_eq!(store.customers.len(), spec.customers);
        assert_eq!(store.customer_vectors.len(), spec.customers * spec.dim);
        assert_eq!(store.taste_vectors.len(), TASTES.len() * spec.dim);
        let ids: HashSet<&str> = store.products.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), spec.products);
        assert_eq!(store.products[42].id, "p42");

        // Every order belongs to one customer and one time; order numbers are 0..orders.
        let mut order_owner: HashMap<u32, (u32, u32)> = HashMap::new();
        for line in &store.purchases {
            let owner = *order_owner.entry(line.order).or_insert((line.customer, line.ts));
            assert_eq!(owner, (line.customer, line.ts), "order o{} is split", line.order);
            assert!((line.product as usize) < spec.products);
        }
        assert_eq!(order_owner.len(), store.orders);
        assert!(order_owner.keys().all(|&o| (o as usize) < store.orders));

        // Times inside the window, increasing over each customer's orders.
        let from = (EPOCH_TS - HISTORY_DAYS * 86_400) as u32;
        let mut last: HashMap<u32, (u32, u32)> = HashMap::new();
        for line in &store.purchases {
            assert!(line.ts >= from && (line.ts as i64) < EPOCH_TS);
            if let Some(&(order, ts)) = last.get(&line.customer)
                && order != line.order
            {
                assert!(line.ts > ts, "orders of c{} not increasing in time", line.customer);
            }
            last.insert(line.customer, (line.order, line.ts));
        }

        let n = spec.customers as f64;
        let per_customer = store.purchases.len() as f64 / n;
        assert!((25.0..38.0).contains(&per_customer), "{per_customer} lines per customer");
        let orders_per_customer = store.orders as f64 / n;
        assert!((3.5..4.5).contains(&orders_per_customer), "{orders_per_customer} orders per customer");
    }

    #[test]
    fn signals_have_the_planned_rates_and_weights() {
        let store = small();
        let n = store.customers.len() as f64;
        let rate = |signal: &str| store.customers.iter().filter(|c| has_signal(c, signal)).count() as f64 / n;
        let vegetarian = rate("lifestyle:vegetarian");
        assert!((0.05..0.11).contains(&vegetarian), "vegetarian {vegetarian}");
        let parent = rate("lifestyle:parent");
        assert!((0.19..0.31).contains(&parent), "parent {parent}");
        let pet = rate("lifestyle:pet_owner");
        assert!((0.15..0.25).contains(&pet), "pet owner {pet}");
        let music = store.customers.iter().filter(|c| c.signals.iter().any(|(s, _)| s.starts_with("music:"))).count();
        assert!(music as f64 / n > 0.75);
        // Vegans are vegetarians too, so the vegetarian rule alone already protects them.
        assert!(
            store.customers.iter().all(|c| !has_signal(c, "lifestyle:vegan") || has_signal(c, "lifestyle:vegetarian"))
        );
        for c in &store.customers {
            for &(s, w) in &c.signals {
                assert!(w > 0.0 && w <= 1.0, "{s} weight {w}");
                assert!(s.split_once(':').is_some_and(|(ns, v)| !ns.is_empty() && !v.is_empty()));
            }
        }
        // Pet owners buy in the Pet department far more often than others.
        let pet_share = |owner: bool| {
            let (mut pet_lines, mut all) = (0usize, 0usize);
            for line in &store.purchases {
                if has_signal(&store.customers[line.customer as usize], "lifestyle:pet_owner") == owner {
                    all += 1;
                    pet_lines += usize::from(store.products[line.product as usize].department == "Pet");
                }
            }
            pet_lines as f64 / all as f64
        };
        assert!(pet_share(true) > 3.0 * pet_share(false));
    }

    #[test]
    fn every_aisle_is_in_exactly_one_zone_and_every_product_aisle_exists() {
        let zones = zones();
        assert!((8..=10).contains(&zones.len()));
        let mut zone_of: HashMap<&str, &str> = HashMap::new();
        for zone in &zones {
            assert!(!zone.aisles.is_empty(), "zone {} is empty", zone.name);
            for &aisle in &zone.aisles {
                assert!(zone_of.insert(aisle, zone.name).is_none(), "aisle {aisle} in two zones");
                assert!(!aisle.contains(','), "aisle name {aisle} has a comma");
            }
        }
        let catalogue = catalogue();
        assert!((120..=145).contains(&catalogue.len()), "{} aisles", catalogue.len());
        assert_eq!(zone_of.len(), catalogue.len());
        assert!((12..=16).contains(&departments().len()));
        let store = small();
        for (p, product) in store.products.iter().enumerate() {
            assert!(zone_of.contains_key(product.aisle.as_str()), "{} has unknown aisle", product.id);
            let aisle = &store.aisles[store.product_aisle[p] as usize];
            assert_eq!(aisle.name, product.aisle);
            assert_eq!(aisle.department, product.department);
            assert_eq!(zone_of[aisle.name], aisle.zone);
        }
        // Products are spread over every aisle once there are enough of them.
        let used: HashSet<u16> = store.product_aisle.iter().copied().collect();
        assert_eq!(used.len(), catalogue.len());
    }

    #[test]
    fn layout_toml_lists_every_zone_aisle_and_rule() {
        let toml = layout_toml();
        for zone in zones() {
            assert!(toml.contains(&format!("name = \"{}\"", zone.name)));
            for aisle in zone.aisles {
                assert!(!aisle.contains(['"', '\\']), "{aisle} needs TOML escaping");
                assert!(toml.contains(&format!("\"{aisle}\"")), "{aisle} missing");
            }
        }
        assert!(toml.contains("signal = \"lifestyle:vegetarian\"\nexclude_tags = [\"meat\", \"fish\"]"));
        assert_eq!(toml.matches("[[zones]]").count(), zones().len());
        assert_eq!(toml.matches("[[rules]]").count(), diet_rules().len());
    }

    #[test]
    fn catalogue_is_well_formed() {
        let catalogue = catalogue();
        let rules = diet_rules();
        for aisle in &catalogue {
            assert!((1..=3).contains(&aisle.tastes.len()), "{}", aisle.name);
            assert!(aisle.items.len() >= 5, "{} has few items", aisle.name);
            assert!(aisle.price_cents.0 > 0 && aisle.price_cents.0 < aisle.price_cents.1);
            for (noun, tags) in &aisle.items {
                assert!(!noun.is_empty() && !noun.contains([',', '|', '"']), "{noun}");
                assert!(tags.iter().all(|t| !t.is_empty() && !t.contains([',', ';'])));
            }
        }
        // Every taste can be shopped under every diet, so restricted customers keep their tastes.
        for (t, taste) in TASTES.iter().enumerate() {
            for (signal, excluded) in &rules {
                let ok = catalogue.iter().any(|a| {
                    a.tastes.iter().any(|&(x, _)| x == t)
                        && a.items.iter().any(|(_, tags)| tags.iter().all(|tag| !excluded.contains(tag)))
                });
                assert!(ok, "taste {taste} has nothing a {signal} customer may buy");
            }
        }
        for (g, genre) in MUSIC.iter().enumerate() {
            assert_eq!(music_signal(g), format!("music:{genre}"));
        }
        for template in BUNDLE_TEMPLATES {
            let distinct: HashSet<&&str> = template.iter().collect();
            assert_eq!(distinct.len(), template.len());
            assert!(template.iter().all(|name| catalogue.iter().any(|a| a.name == *name)), "{template:?}");
        }
        let tags: HashSet<&str> =
            catalogue.iter().flat_map(|a| a.items.iter().flat_map(|(_, t)| t.iter().copied())).collect();
        for tag in ["meat", "fish", "alcohol", "dairy", "eggs", "gluten", "baby", "pet", "vegan", "frozen"] {
            assert!(tags.contains(tag), "no product can carry {tag}");
        }
    }

    #[test]
    fn products_look_like_a_store() {
        let store = small();
        let n = store.products.len() as f64;
        let no_price = store.products.iter().filter(|p| p.price_cents.is_none()).count() as f64 / n;
        assert!((0.005..0.04).contains(&no_price), "{no_price} without price");
        assert!(store.products.iter().any(|p| p.tags.is_empty()));
        assert!(store.products.iter().any(|p| p.tags.iter().any(|t| t == "organic")));
        for p in &store.products {
            assert!(p.name.split(' ').count() >= 2 && !p.name.contains(','), "{}", p.name);
            if let Some(cents) = p.price_cents {
                assert!(cents % 10 == 9, "{} costs {cents}", p.name);
            }
        }
        // Norms carry popularity: inside an aisle, the most popular product has the largest norm.
        let dim = store.spec.dim;
        let norm = |p: usize| {
            dot(&store.product_vectors[p * dim..(p + 1) * dim], &store.product_vectors[p * dim..(p + 1) * dim]).sqrt()
        };
        let (mut top, mut bottom) = (0.0, 0.0);
        for a in 0..store.aisles.len() {
            let members: Vec<usize> =
                (0..store.products.len()).filter(|&p| store.product_aisle[p] as usize == a).collect();
            let best = members
                .iter()
                .copied()
                .max_by(|&x, &y| store.product_popularity[x].total_cmp(&store.product_popularity[y]));
            let worst = members
                .iter()
                .copied()
                .min_by(|&x, &y| store.product_popularity[x].total_cmp(&store.product_popularity[y]));
            if let (Some(best), Some(worst)) = (best, worst) {
                top += norm(best);
                bottom += norm(worst);
            }
        }
        assert!(top > 1.5 * bottom, "popular norms {top} vs unpopular {bottom}");
    }

    #[test]
    fn diet_restricted_customers_never_buy_excluded_tags() {
        let store = small();
        let rules = diet_rules();
        assert!(
            rules
                .iter()
                .any(|(s, tags)| *s == "lifestyle:vegetarian" && tags.contains(&"meat") && tags.contains(&"fish"))
        );
        let mut checked = vec![0usize; rules.len()];
        for line in &store.purchases {
            let customer = &store.customers[line.customer as usize];
            let product = &store.products[line.product as usize];
            for (r, (signal, excluded)) in rules.iter().enumerate() {
                if has_signal(customer, signal) {
                    checked[r] += 1;
                    assert!(
                        !product.tags.iter().any(|t| excluded.contains(&t.as_str())),
                        "c{} ({signal}) bought {} {:?}",
                        line.customer,
                        product.name,
                        product.tags
                    );
                }
            }
        }
        assert!(checked.iter().all(|&n| n > 1_000), "too few restricted purchases to test: {checked:?}");
        // And the catalogue does give them something to avoid: others buy meat.
        assert!(
            store.purchases.iter().any(|l| { store.products[l.product as usize].tags.iter().any(|t| t == "meat") })
        );
    }

    #[test]
    fn planted_bundles_co_occur_far_above_chance() {
        let store = small();
        assert!(store.bundles.len() >= 100, "{} bundles", store.bundles.len());
        let mut seen = HashSet::new();
        for b in &store.bundles {
            assert!((2..=3).contains(&b.len()));
            assert!(b.iter().all(|&p| seen.insert(p)), "a product is in two bundles");
            let aisles: HashSet<u16> = b.iter().map(|&p| store.product_aisle[p as usize]).collect();
            assert_eq!(aisles.len(), b.len(), "bundle members share an aisle");
        }
        let mut orders: Vec<Vec<u32>> = vec![Vec::new(); store.orders];
        for line in &store.purchases {
            orders[line.order as usize].push(line.product);
        }
        let mut in_orders = vec![0f64; store.products.len()];
        for order in &orders {
            for &p in order {
                in_orders[p as usize] += 1.0;
            }
        }
        // Lift of a set of pairs: orders holding both, over what independence would give.
        let lift = |pairs: &[(u32, u32)]| {
            let (mut observed, mut expected) = (0.0, 0.0);
            for &(x, y) in pairs {
                observed += orders.iter().filter(|o| o.contains(&x) && o.contains(&y)).count() as f64;
                expected += in_orders[x as usize] * in_orders[y as usize] / orders.len() as f64;
            }
            observed / expected
        };
        let pairs: Vec<(u32, u32)> = store
            .bundles
            .iter()
            .flat_map(|b| b.iter().enumerate().flat_map(move |(i, &x)| b[i + 1..].iter().map(move |&y| (x, y))))
            .collect();
        // Control: for each member, the unbundled product of its aisle closest in popularity. Shoppers
        // of one taste visit both aisles anyway, so this is the lift without planting.
        let twin = |p: u32| {
            (0..store.products.len() as u32)
                .filter(|&q| {
                    q != p && !seen.contains(&q) && store.product_aisle[q as usize] == store.product_aisle[p as usize]
                })
                .min_by(|&a, &b| {
                    let gap =
                        |q: u32| (store.product_popularity[q as usize] - store.product_popularity[p as usize]).abs();
                    gap(a).total_cmp(&gap(b))
                })
        };
        let controls: Vec<(u32, u32)> = pairs.iter().filter_map(|&(x, y)| Some((twin(x)?, twin(y)?))).collect();
        let (planted, control) = (lift(&pairs), lift(&controls));
        assert!(planted > 5.0, "bundle lift {planted}");
        assert!(planted > 4.0 * control, "bundle lift {planted} vs unplanted pairs of the same aisles {control}");
    }

    #[test]
    fn customers_with_the_same_taste_are_nearer() {
        let store = small();
        let dim = store.spec.dim;
        let mut by_taste: Vec<Vec<usize>> = vec![Vec::new(); TASTES.len()];
        for c in 0..store.customers.len() {
            if by_taste[store.planted_taste(c)].len() < 60 {
                by_taste[store.planted_taste(c)].push(c);
            }
        }
        let v = |c: usize| &store.customer_vectors[c * dim..(c + 1) * dim];
        let mut tested = 0;
        for (t, members) in by_taste.iter().enumerate() {
            if members.len() < 10 {
                continue;
            }
            tested += 1;
            let (mut same, mut n_same) = (0.0, 0.0);
            for (i, &x) in members.iter().enumerate() {
                for &y in &members[i + 1..] {
                    same += dot(v(x), v(y));
                    n_same += 1.0;
                }
            }
            let (mut other, mut n_other) = (0.0, 0.0);
            for (u, others) in by_taste.iter().enumerate() {
                if u != t {
                    for &x in members {
                        for &y in others {
                            other += dot(v(x), v(y));
                            n_other += 1.0;
                        }
                    }
                }
            }
            let (same, other) = (same / n_same, other / n_other);
            assert!(same > other + 0.3, "taste {}: same {same:.3} vs other {other:.3}", TASTES[t]);
        }
        assert_eq!(tested, TASTES.len());

        // Customers are also nearer the products of their primary taste's aisles.
        let taste = store.planted_taste(0);
        let customer = v(0);
        let (mut linked, mut n_linked, mut rest, mut n_rest) = (0.0, 0.0, 0.0, 0.0);
        for p in 0..store.products.len() {
            let score = dot(customer, &store.product_vectors[p * dim..(p + 1) * dim]);
            if store.aisles[store.product_aisle[p] as usize].tastes.first().is_some_and(|&(t, _)| t == taste) {
                linked += score;
                n_linked += 1.0;
            } else {
                rest += score;
                n_rest += 1.0;
            }
        }
        assert!(linked / n_linked > rest / n_rest + 0.2);
    }

    /// Splits one CSV line into fields, honouring quotes.
    fn split_csv(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(ch) = chars.next() {
            match (ch, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().expect("non-empty").push('"');
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(String::new()),
                (c, _) => fields.last_mut().expect("non-empty").push(c),
            }
        }
        fields
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let mut buf = Vec::new();
        for field in ["plain", "a,b", "say \"hi\"", "two\nlines", ""] {
            push_field(&mut buf, field);
            buf.push(b',');
        }
        assert_eq!(String::from_utf8(buf).expect("utf8"), "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",,");
        assert_eq!(split_csv("x,\"a,b\",\"say \"\"hi\"\"\""), vec!["x", "a,b", "say \"hi\""]);
        let mut buf = Vec::new();
        for w in [1.0f32, 0.5, 0.73, 0.01, 0.1] {
            push_weight(&mut buf, w);
            buf.push(b' ');
        }
        assert_eq!(String::from_utf8(buf).expect("utf8"), "1 0.5 0.73 0.01 0.1 ");
        let mut buf = Vec::new();
        push_u64(&mut buf, 0);
        push_u64(&mut buf, 1_763_856_000);
        assert_eq!(buf, b"01763856000");
    }

    #[test]
    fn csv_round_trip() {
        let store = generate(&DemoSpec { products: 400, customers: 300, seed: 3, dim: 8 });
        let dir = std::env::temp_dir().join(format!(
            "endcap-demo-test-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let summary = store.write_csv(&dir).expect("write csv");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("read back");
        let (products, purchases, social) = (read("products.csv"), read("purchases.csv"), read("social.csv"));
        std::fs::remove_dir_all(&dir).expect("clean up");

        assert_eq!(summary.bytes, (products.len() + purchases.len() + social.len()) as u64);
        let check = |text: &str, header: &str, rows: usize, columns: usize| {
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines[0], header);
            assert_eq!(lines.len(), rows + 1, "{header}");
            for line in &lines[1..] {
                assert_eq!(split_csv(line).len(), columns, "{line}");
            }
        };
        check(&products, "product_id,name,aisle,department,tags,price", summary.products, 6);
        check(&purchases, "customer_id,order_id,product_id,ts", summary.purchases, 4);
        check(&social, "customer_id,signal,weight", summary.social, 3);
        assert_eq!(summary.products, store.products.len());
        assert_eq!(summary.purchases, store.purchases.len());
        assert_eq!(summary.social, store.customers.iter().map(|c| c.signals.len()).sum::<usize>());

        // Values survive the trip.
        let row = split_csv(products.lines().nth(6).expect("row"));
        let p = &store.products[5];
        assert_eq!(
            (row[0].as_str(), row[1].as_str(), row[2].as_str()),
            (p.id.as_str(), p.name.as_str(), p.aisle.as_str())
        );
        assert_eq!(row[4], p.tags.join(";"));
        assert_eq!(row[5], p.price_cents.map(|c| c.to_string()).unwrap_or_default());
        let line = store.purchases[10];
        assert_eq!(
            purchases.lines().nth(11).expect("row"),
            format!("c{},o{},p{},{}", line.customer, line.order, line.product, line.ts)
        );
        for row in social.lines().skip(1) {
            let fields = split_csv(row);
            let weight: f32 = fields[2].parse().expect("weight parses");
            assert!(weight > 0.0 && weight <= 1.0);
            let c: usize = fields[0][1..].parse().expect("customer id");
            assert!(store.customers[c].signals.iter().any(|&(s, w)| s == fields[1] && w == weight));
        }
    }

    #[test]
    fn model_input_is_consistent() {
        let store = small();
        let input = store.model_input();
        let spec = store.spec;
        assert_eq!(input.model_version, format!("demo-s{}-p{}-c{}", spec.seed, spec.products, spec.customers));
        assert_eq!(input.builder, "endcap demo");
        assert_eq!(input.seed, spec.seed);
        assert_eq!(input.dim, spec.dim);
        assert_eq!(input.products.len(), spec.products);
        assert_eq!(input.product_vectors.len(), spec.products * spec.dim);
        assert_eq!(input.product_purchases.len(), spec.products);
        assert_eq!(input.product_purchases.iter().sum::<u64>(), store.purchases.len() as u64);
        assert_eq!(input.customers.len(), spec.customers);
        assert_eq!(input.customers[42].id, "c42");
        assert_eq!(input.customer_vectors.len(), spec.customers * spec.dim);
        assert!(input.co_purchase.is_empty() && input.repeat.is_empty());
        assert_eq!(input.training["co_purchase"], serde_json::json!("not computed by the demo"));
        assert_eq!(input.training["purchase_lines"], serde_json::json!(store.purchases.len()));
        assert_eq!(input.training["orders"], serde_json::json!(store.orders));
        assert_eq!(input.training["spec"]["seed"], serde_json::json!(spec.seed));

        assert_eq!(input.segments.len(), TASTES.len());
        assert_eq!(input.customer_segment.len(), spec.customers);
        for (c, &s) in input.customer_segment.iter().enumerate() {
            assert_eq!(s as usize, store.planted_taste(c), "every taste has customers here");
        }
        for segment in &input.segments {
            assert_eq!(segment.centroid.len(), spec.dim);
            assert!(!segment.popular.is_empty() && segment.popular.len() <= 100);
            assert!(segment.popular.iter().all(|&p| (p as usize) < spec.products));
        }
        // A segment's popular list leans to its taste's aisles: baby shoppers' top product is Baby.
        let baby = TASTES.iter().position(|&t| t == "baby").expect("baby taste");
        let top = input.segments[baby].popular[0] as usize;
        assert_eq!(input.products[top].department, "Baby");

        let names: Vec<&str> = input.signal_vectors.iter().map(|(s, _)| s.as_str()).collect();
        assert!(names.contains(&"lifestyle:vegetarian") && names.contains(&"music:jazz"));
        assert!(input.signal_vectors.iter().all(|(_, v)| v.len() == spec.dim && v.iter().all(|x| x.is_finite())));
        // The pet-owner signal vector points toward the pet taste.
        let pet = TASTES.iter().position(|&t| t == "pet").expect("pet taste");
        let pet_dir = &store.taste_vectors[pet * spec.dim..(pet + 1) * spec.dim];
        let signal = |name: &str| &input.signal_vectors.iter().find(|(s, _)| s == name).expect("signal").1;
        assert!(dot(signal("lifestyle:pet_owner"), pet_dir) > dot(signal("music:jazz"), pet_dir) + 0.1);
    }

    #[test]
    fn tiny_and_empty_specs_do_not_panic() {
        for spec in [
            DemoSpec { products: 0, customers: 5, seed: 1, dim: 4 },
            DemoSpec { products: 7, customers: 20, seed: 1, dim: 4 },
            DemoSpec { products: 50, customers: 0, seed: 1, dim: 4 },
        ] {
            let store = generate(&spec);
            assert_eq!(store.products.len(), spec.products);
            assert_eq!(store.customers.len(), spec.customers);
            let input = store.model_input();
            assert_eq!(input.product_purchases.iter().sum::<u64>(), store.purchases.len() as u64);
        }
    }
}
