//! The demo store's static catalogue: departments -> aisles -> item nouns, written as compact
//! strings, the planted bundle templates, and the parser that turns them into [`Aisle`]s. A data
//! table more than code; `tests.rs` checks that it is well formed.

use super::*;

// ---------------------------------------------------------------------------------------------
// The catalogue: departments -> aisles -> item nouns, written as compact strings.
// Aisle `tastes` are names from TASTES separated by spaces (strongest first, at most three);
// `tags` are space separated and apply to every item; items are `;` separated, each optionally
// followed by `|tag tag -tag` to add tags to (or remove aisle tags from) that item.
// ---------------------------------------------------------------------------------------------

pub(super) struct DeptDef {
    pub(super) name: &'static str,
    pub(super) zone: &'static str,
    /// Whether "Organic" variants make sense here.
    pub(super) food: bool,
    pub(super) brands: &'static [&'static str],
    pub(super) aisles: &'static [AisleDef],
}

pub(super) struct AisleDef {
    pub(super) name: &'static str,
    pub(super) tastes: &'static str,
    pub(super) tags: &'static str,
    pub(super) price_cents: (u32, u32),
    pub(super) sizes: &'static [&'static str],
    pub(super) items: &'static str,
}

pub(super) const fn a(
    name: &'static str,
    tastes: &'static str,
    tags: &'static str,
    price_cents: (u32, u32),
    sizes: &'static [&'static str],
    items: &'static str,
) -> AisleDef {
    AisleDef { name, tastes, tags, price_cents, sizes, items }
}

pub(super) const S_PRODUCE: &[&str] = &["per kg", "500g", "1kg bag", "2 pack", "4 pack", ""];
pub(super) const S_WEIGHT: &[&str] = &["100g", "200g", "250g", "400g", "500g", "1kg"];
pub(super) const S_MEAT: &[&str] = &["300g", "500g", "750g", "1kg", "family pack"];
pub(super) const S_LIQUID: &[&str] = &["250ml", "500ml", "1L", "2L"];
pub(super) const S_DRINK: &[&str] = &["330ml", "500ml", "1.5L", "6 x 330ml", "12 x 330ml"];
pub(super) const S_BEER: &[&str] = &["6 x 330ml", "12 x 330ml", "24 x 330ml", "500ml", "4 x 440ml"];
pub(super) const S_WINE: &[&str] = &["750ml", "1.5L", "375ml"];
pub(super) const S_SPIRIT: &[&str] = &["700ml", "1L", "350ml"];
pub(super) const S_PACK: &[&str] = &["", "2 pack", "4 pack", "6 pack", "8 pack"];
pub(super) const S_LOAF: &[&str] = &["", "400g", "800g", "large"];
pub(super) const S_COUNT: &[&str] = &["10 ct", "20 ct", "30 ct", "60 ct", "100 ct"];
pub(super) const S_HOUSE: &[&str] = &["500ml", "1L", "2L", "refill", "value pack"];
pub(super) const S_CARE: &[&str] = &["50ml", "100ml", "250ml", "400ml", ""];
pub(super) const S_EACH: &[&str] = &[""];
pub(super) const S_DIAPER: &[&str] = &["24 ct", "40 ct", "60 ct", "jumbo pack"];
pub(super) const S_PET: &[&str] = &["400g", "1.5kg", "3kg", "10kg", "12 x 85g"];

pub(super) const FOOD_ADJECTIVES: &[&str] = &[
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
pub(super) const OTHER_ADJECTIVES: &[&str] =
    &["Classic", "Premium", "Sensitive", "Fresh Scent", "Ultra", "Everyday", "Eco", "Gentle"];

// A data table: one aisle a line reads better than rustfmt's one argument a line.
#[rustfmt::skip]
pub(super) const DEPARTMENTS: &[DeptDef] = &[
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
pub(super) const BUNDLE_TEMPLATES: &[&[&str]] = &[
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
pub(super) struct Aisle {
    pub(super) name: &'static str,
    pub(super) department: &'static str,
    pub(super) zone: &'static str,
    pub(super) food: bool,
    pub(super) brands: &'static [&'static str],
    pub(super) tastes: Vec<(usize, f32)>,
    pub(super) price_cents: (u32, u32),
    pub(super) sizes: &'static [&'static str],
    /// Item noun and its final tags (aisle tags merged with the item's own).
    pub(super) items: Vec<(&'static str, Vec<&'static str>)>,
}

/// Parses the static catalogue. Panics only if the static tables themselves are wrong (tested).
pub(super) fn catalogue() -> Vec<Aisle> {
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
