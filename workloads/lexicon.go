package workloads

// The bilingual lexicon the catalog and the search queries are written from.
//
// Every entry is "english|turkish" in its natural case; multi-word entries
// are allowed on either side. Shared pools (colours, materials, adjectives,
// nouns) are used by every category, each category preferring a subset, so
// most words of a title say little about its category; only the "specific"
// lists belong to one category (a few deliberately overlap a neighbour:
// "notebook" is a computer and a stationery item, "tulum" a jumpsuit and a
// sleeping bag in Turkish). Turkish words use ç ğ ı İ ö ş ü, and several
// start with i or ı so that title case yields İ or I ("İpek", "Işıklı",
// "Izgara") and only Turkish case rules lower-case them correctly.

var colourWords = []string{
	"black|siyah", "white|beyaz", "red|kırmızı", "blue|mavi", "navy|lacivert",
	"green|yeşil", "grey|gri", "beige|bej", "brown|kahverengi", "pink|pembe",
	"yellow|sarı", "purple|mor", "orange|turuncu", "silver|gümüş", "gold|altın",
	"ivory|fildişi", "turquoise|turkuaz", "burgundy|bordo", "khaki|haki", "cream|krem",
}

var materialWords = []string{
	"cotton|pamuk", "leather|deri", "wool|yün", "silk|ipek", "linen|keten",
	"steel|çelik", "aluminium|alüminyum", "wood|ahşap", "bamboo|bambu", "glass|cam",
	"ceramic|seramik", "plastic|plastik", "silicone|silikon", "velvet|kadife", "denim|kot",
	"rubber|kauçuk", "polyester|polyester", "marble|mermer", "nylon|naylon", "cashmere|kaşmir",
	"canvas|kanvas", "suede|süet", "foam|sünger", "paper|kağıt", "satin|saten", "brass|pirinç", "titanium|titanyum",
}

var adjectiveWords = []string{
	"deluxe|lüks", "compact|kompakt", "portable|taşınabilir", "lightweight|hafif",
	"durable|dayanıklı", "classic|klasik", "modern|modern", "vintage|nostaljik",
	"slim|ince", "soft|yumuşak", "waterproof|su geçirmez", "adjustable|ayarlanabilir",
	"foldable|katlanabilir", "handmade|el yapımı", "organic|organik", "wireless|kablosuz",
	"rechargeable|şarjlı", "mini|mini", "large|büyük", "small|küçük", "everyday|günlük",
	"professional|profesyonel", "ergonomic|ergonomik", "eco-friendly|çevre dostu",
	"illuminated|ışıklı", "imported|ithal", "quick-dry|hızlı kuruyan", "non-slip|kaymaz",
	"insulated|yalıtımlı", "magnetic|mıknatıslı", "reusable|tekrar kullanılabilir",
	"stainless|paslanmaz", "premium|premium", "oversized|oversize", "thermal|termal",
	"smart|akıllı", "digital|dijital", "heavy-duty|ağır hizmet", "breathable|nefes alan",
	"elegant|şık", "stretch|esnek", "double|çift", "round|yuvarlak", "square|kare",
	"comfortable|rahat", "natural|doğal", "scented|kokulu", "kids|çocuk", "women's|kadın",
	"men's|erkek", "baby|bebek", "minimalist|minimalist", "unisex|unisex", "new|yeni",
	"bestselling|çok satan", "retro|retro", "luxury|ihtişamlı", "travel|seyahat", "superior|üstün",
}

var nounWords = []string{
	"set|set", "kit|takım", "case|kılıf", "cover|kapak", "holder|tutucu", "stand|stant",
	"organizer|düzenleyici", "bag|çanta", "box|kutu", "mat|paspas", "cable|kablo",
	"lamp|lamba", "bottle|şişe", "brush|fırça", "basket|sepet", "pouch|kese",
	"strap|kayış", "light|ışık", "cushion|minder", "tray|tepsi", "pack|paket",
	"mug|kupa", "clip|klips", "hook|kanca", "rack|raf", "rope|ip", "pad|ped",
	"bowl|kase", "jar|kavanoz", "towel|havlu", "blanket|battaniye", "pillow|yastık",
	"mirror|ayna", "clock|saat", "wallet|cüzdan", "belt|kemer", "cap|şapka",
	"gloves|eldiven", "socks|çorap", "tool|alet", "figure|figür", "ball|top",
	"frame|çerçeve", "vase|vazo", "candle|mum", "cup|bardak", "scarf|atkı",
	"container|saklama kabı", "cleaner|temizleyici", "spray|sprey", "hanger|askı",
	"charm|süs", "sticker|çıkartma", "backpack|sırt çantası", "bucket|kova",
	"cord|kordon", "guard|koruyucu", "bed|yatak", "toy|oyuncak", "needle|iğne",
	"thread|iplik", "heater|ısıtıcı", "shirt|gömlek", "trousers|pantolon", "jacket|ceket",
}

// categoryDef describes one catalog category. Names are the label in each
// language; no title of the category contains a word of either name.
type categoryDef struct {
	slug      string
	en, tr    string
	weight    float64 // relative number of products
	price     float64 // median price
	attr      string  // extra attribute kind: size, shoe_size, capacity, warranty, pack_size, dimensions
	specific  []string
	nouns     string // preferred shared nouns (English keys, space separated)
	adjs      string // preferred adjectives
	materials string // preferred materials
}

var categoryDefs = []categoryDef{
	{
		slug: "phone_accessories", en: "phone accessories", tr: "telefon aksesuarları", weight: 1.3, price: 19, attr: "warranty",
		specific: []string{"screen protector|ekran koruyucu", "USB-C|USB-C", "lightning|lightning", "powerbank|powerbank",
			"selfie|selfie", "tempered|temperli", "MagSafe|MagSafe", "dual-SIM|çift hatlı", "5G|5G", "fast-charge|hızlı şarj", "android|android", "car mount|araç tutucu"},
		nouns: "case cover holder stand cable pouch strap clip guard", adjs: "wireless magnetic slim rechargeable portable compact smart", materials: "silicone leather plastic aluminium glass nylon",
	},
	{
		slug: "computers", en: "computers", tr: "bilgisayar", weight: 1.0, price: 89, attr: "warranty",
		specific: []string{"laptop|laptop", "keyboard|klavye", "mouse|mouse", "monitor|monitör", "SSD|SSD", "RAM|RAM",
			"notebook|dizüstü", "webcam|webcam", "USB hub|USB çoklayıcı", "gaming|oyuncu", "graphics card|ekran kartı", "mechanical|mekanik"},
		nouns: "stand cable pad bag case holder organizer light", adjs: "wireless ergonomic portable slim professional digital compact", materials: "aluminium plastic steel nylon",
	},
	{
		slug: "audio", en: "audio", tr: "ses sistemleri", weight: 0.9, price: 69, attr: "warranty",
		specific: []string{"headphones|kulaklık", "earbuds|kulak içi", "speaker|hoparlör", "soundbar|soundbar", "microphone|mikrofon",
			"bluetooth|bluetooth", "noise-cancelling|gürültü önleyici", "bass|bas", "amplifier|amfi", "turntable|pikap", "subwoofer|subwoofer"},
		nouns: "stand case cable pad holder set", adjs: "wireless portable rechargeable professional waterproof compact smart", materials: "plastic aluminium leather wood",
	},
	{
		slug: "cameras", en: "cameras", tr: "fotoğraf makinesi", weight: 0.6, price: 249, attr: "warranty",
		specific: []string{"lens|lens", "tripod|tripod", "DSLR|DSLR", "mirrorless|aynasız", "zoom|zoom", "flash|flaş",
			"gimbal|gimbal", "memory card|hafıza kartı", "action|aksiyon", "shutter|deklanşör", "4K|4K"},
		nouns: "bag strap case stand holder light kit cover", adjs: "professional compact portable waterproof digital lightweight", materials: "aluminium leather nylon plastic",
	},
	{
		slug: "kitchen", en: "kitchen", tr: "mutfak", weight: 1.4, price: 29, attr: "capacity",
		specific: []string{"skillet|tava", "saucepan|tencere", "spatula|spatula", "whisk|çırpıcı", "cutting board|kesme tahtası",
			"knife|bıçak", "blender|blender", "grill|ızgara", "colander|süzgeç", "teapot|demlik", "nonstick|yapışmaz", "oven|fırın"},
		nouns: "set bowl jar tray mug cup bottle container brush organizer rack", adjs: "stainless reusable durable large small professional insulated", materials: "steel ceramic glass wood bamboo silicone marble",
	},
	{
		slug: "home_decor", en: "home decor", tr: "ev dekorasyonu", weight: 1.2, price: 34, attr: "dimensions",
		specific: []string{"rug|halı", "curtain|perde", "wall art|duvar tablosu", "ornament|biblo", "poster|poster",
			"boho|bohem", "artificial|yapay", "plant|bitki", "wreath|çelenk", "lantern|fener", "macrame|makrome"},
		nouns: "vase candle frame mirror clock lamp cushion basket tray light hook", adjs: "modern vintage handmade large round square scented elegant", materials: "glass ceramic wood marble velvet linen cotton",
	},
	{
		slug: "furniture", en: "furniture", tr: "mobilya", weight: 0.8, price: 219, attr: "dimensions",
		specific: []string{"sofa|kanepe", "armchair|koltuk", "table|masa", "chair|sandalye", "drawer|çekmece", "wardrobe|gardırop",
			"bookcase|kitaplık", "ottoman|puf", "nightstand|komodin", "desk|çalışma masası", "recliner|yatar koltuk", "upholstered|döşemeli"},
		nouns: "cushion rack hook stand organizer mirror lamp set", adjs: "modern classic foldable adjustable ergonomic large compact", materials: "wood velvet leather steel marble linen",
	},
	{
		slug: "bedding", en: "bedding", tr: "uyku ürünleri", weight: 0.8, price: 49, attr: "size",
		specific: []string{"duvet|yorgan", "bedsheet|çarşaf", "pillowcase|yastık kılıfı", "mattress|şilte", "quilt|pike",
			"fitted|lastikli", "queen|queen", "king-size|king", "single|tek kişilik", "thread count|iplik sayısı", "percale|perkal"},
		nouns: "set pillow blanket cover towel cushion", adjs: "soft organic breathable comfortable natural double", materials: "cotton linen silk wool velvet bamboo satin",
	},
	{
		slug: "womenswear", en: "womenswear", tr: "kadın giyim", weight: 1.5, price: 39, attr: "size",
		specific: []string{"dress|elbise", "blouse|bluz", "skirt|etek", "cardigan|hırka", "leggings|tayt", "tunic|tunik",
			"jumpsuit|tulum", "maxi|maxi", "midi|midi", "off-shoulder|omuz açık", "ruffled|fırfırlı", "shirt|gömlek"},
		nouns: "set belt scarf socks gloves cap jacket trousers", adjs: "women's oversized soft stretch elegant everyday breathable", materials: "cotton silk linen denim polyester velvet cashmere satin",
	},
	{
		slug: "menswear", en: "menswear", tr: "erkek giyim", weight: 1.3, price: 44, attr: "size",
		specific: []string{"chinos|chino", "blazer|blazer", "polo|polo", "hoodie|kapüşonlu", "sweatshirt|sweatshirt", "tie|kravat",
			"slim-fit|dar kesim", "regular-fit|normal kesim", "suit|takım elbise", "oxford|oxford", "shirt|gömlek"},
		nouns: "set belt socks cap gloves scarf jacket trousers", adjs: "men's slim classic everyday breathable stretch", materials: "cotton wool denim linen polyester cashmere leather",
	},
	{
		slug: "shoes", en: "shoes", tr: "ayakkabı", weight: 1.2, price: 69, attr: "shoe_size",
		specific: []string{"sneakers|sneaker", "boots|bot", "sandals|sandalet", "loafers|loafer", "heels|topuklu", "pumps|iskarpin",
			"slippers|terlik", "insole|tabanlık", "sole|taban", "laces|bağcık", "ankle|bilek"},
		nouns: "set pad socks bag box", adjs: "women's men's kids non-slip waterproof comfortable breathable lightweight", materials: "leather rubber suede canvas foam",
	},
	{
		slug: "bags", en: "bags", tr: "çantalar", weight: 0.9, price: 59, attr: "dimensions",
		specific: []string{"handbag|el çantası", "tote|tote", "suitcase|valiz", "luggage|bavul", "duffel|spor çantası", "crossbody|çapraz",
			"clutch|portföy", "messenger|postacı", "zipper|fermuarlı", "compartment|bölmeli", "trolley|tekerlekli"},
		nouns: "wallet strap pouch organizer set case backpack", adjs: "women's men's large small waterproof everyday elegant travel", materials: "leather canvas nylon polyester denim suede",
	},
	{
		slug: "jewelry", en: "jewelry", tr: "takı", weight: 0.8, price: 79, attr: "pack_size",
		specific: []string{"necklace|kolye", "earrings|küpe", "bracelet|bilezik", "ring|yüzük", "pendant|kolye ucu", "pearl|inci",
			"gemstone|değerli taş", "zircon|zirkon", "14k|14 ayar", "chain|zincir", "anklet|halhal", "brooch|broş"},
		nouns: "set box charm strap", adjs: "women's men's handmade elegant vintage minimalist adjustable", materials: "steel brass titanium silk",
	},
	{
		slug: "beauty", en: "beauty", tr: "kozmetik", weight: 1.1, price: 18, attr: "capacity",
		specific: []string{"serum|serum", "moisturizer|nemlendirici", "lipstick|ruj", "mascara|maskara", "foundation|fondöten",
			"shampoo|şampuan", "conditioner|saç kremi", "face|yüz", "skin|cilt", "hyaluronic|hyalüronik", "perfume|parfüm", "wet wipes|ıslak mendil"},
		nouns: "set bottle brush pouch mirror spray bag", adjs: "organic natural scented women's men's professional mini", materials: "glass bamboo cotton",
	},
	{
		slug: "sports", en: "sports", tr: "spor", weight: 1.0, price: 29, attr: "size",
		specific: []string{"yoga|yoga", "dumbbell|dambıl", "resistance band|direnç bandı", "treadmill|koşu bandı", "fitness|fitness",
			"jump rope|atlama ipi", "kettlebell|kettlebell", "protein|protein", "cycling|bisiklet", "running|koşu", "football|futbol", "tennis racket|tenis raketi"},
		nouns: "bottle mat bag ball set gloves socks strap towel", adjs: "adjustable quick-dry non-slip lightweight breathable professional", materials: "rubber nylon polyester steel foam",
	},
	{
		slug: "outdoor", en: "outdoor", tr: "açık hava", weight: 0.8, price: 49, attr: "capacity",
		specific: []string{"tent|çadır", "sleeping bag|uyku tulumu", "trekking|trekking", "camping|kamp", "compass|pusula",
			"headlamp|kafa lambası", "hammock|hamak", "thermos|termos", "carabiner|karabina", "fishing|balık", "trail|patika"},
		nouns: "backpack bottle light lamp rope set bag", adjs: "waterproof portable foldable insulated lightweight durable", materials: "nylon aluminium steel polyester",
	},
	{
		slug: "toys", en: "toys", tr: "oyuncaklar", weight: 1.0, price: 24, attr: "pack_size",
		specific: []string{"puzzle|yapboz", "building blocks|yapı blokları", "doll|bebek", "plush|peluş", "board game|kutu oyunu",
			"playing cards|iskambil", "remote control|uzaktan kumandalı", "educational|eğitici", "dinosaur|dinozor", "robot|robot", "train|tren"},
		nouns: "set ball figure kit box toy", adjs: "kids baby large mini", materials: "wood plastic cotton",
	},
	{
		slug: "stationery", en: "stationery", tr: "kırtasiye", weight: 0.7, price: 9, attr: "pack_size",
		specific: []string{"notebook|defter", "pen|kalem", "pencil|kurşun kalem", "planner|ajanda", "marker|keçeli kalem", "eraser|silgi",
			"stapler|zımba", "sticky notes|yapışkan not", "fountain pen|dolma kalem", "ink|mürekkep", "ruled|çizgili", "sketchbook|eskiz defteri"},
		nouns: "set box case organizer holder clip pad", adjs: "mini large classic vintage", materials: "paper leather plastic wood",
	},
	{
		slug: "garden", en: "garden", tr: "bahçe", weight: 0.8, price: 22, attr: "dimensions",
		specific: []string{"hose|hortum", "planter|saksı", "seeds|tohum", "pruning|budama", "shears|makas", "lawn|çim",
			"sprinkler|fıskiye", "watering can|sulama kabı", "fertilizer|gübre", "trowel|el küreği", "plant|bitki", "patio|veranda"},
		nouns: "set tool basket light gloves bucket rack", adjs: "durable foldable large portable", materials: "steel plastic wood ceramic rubber",
	},
	{
		slug: "pet_supplies", en: "pet supplies", tr: "evcil hayvan", weight: 0.9, price: 17, attr: "size",
		specific: []string{"dog|köpek", "cat|kedi", "leash|gezdirme tasması", "collar|boyun tasması", "litter|kedi kumu", "scratching post|tırmalama",
			"chew|ısırma", "treats|ödül maması", "kibble|kuru mama", "aquarium|akvaryum", "feeder|mamalık", "catnip|kedi otu"},
		nouns: "bowl bed toy ball rope cushion bottle brush", adjs: "large small durable soft non-slip", materials: "cotton rubber plastic steel",
	},
}

// brandNames are invented brands; each sells in a few categories.
var brandNames = []string{
	"Northwind", "Lumora", "Vexa", "Kestrel", "Brightline", "Oakhaven", "Nimbus", "Corvo",
	"Velora", "Astrid", "Halden", "Mirabel", "Tandem", "Quillon", "Boreal", "Solace",
	"Peregrine", "Zephyr", "Arcadia", "Helix", "Juniper", "Marlow", "Orion", "Pinecrest",
	"Ravel", "Sable", "Tessel", "Umber", "Vantage", "Willow", "Yarrow", "Zenith",
	"Alder", "Bramble", "Cobalt", "Ember", "Fable", "Granite", "Harbor", "Indigo",
	"Yıldız", "Özkan", "Işıkçı", "İnova", "Akdeniz", "Çınar", "Güneş", "Şahin",
	"Ergün", "Doğan", "Kuzey", "Ilgaz", "İpekyol", "Göktürk", "Sürmeli", "Ağaoğlu",
}

// Attribute values for the extra attribute kinds ("english|turkish").
var (
	sizeValues     = []string{"XS|XS", "S|S", "M|M", "L|L", "XL|XL", "XXL|XXL"}
	shoeSizeValues = []string{"36|36", "37|37", "38|38", "39|39", "40|40", "41|41", "42|42", "43|43", "44|44", "45|45"}
	capacityValues = []string{"250 ml|250 ml", "500 ml|500 ml", "750 ml|750 ml", "1 l|1 lt", "2 l|2 lt", "5 l|5 lt"}
	warrantyValues = []string{"1 year|1 yıl", "2 years|2 yıl", "3 years|3 yıl"}
	packValues     = []string{"1 piece|1 adet", "2 pieces|2 adet", "3 pieces|3 adet", "5 pieces|5 adet", "10 pieces|10 adet"}
	dimValues      = []string{"30x40 cm|30x40 cm", "50x70 cm|50x70 cm", "60x90 cm|60x90 cm", "80x120 cm|80x120 cm", "120x180 cm|120x180 cm", "160x230 cm|160x230 cm"}
)
