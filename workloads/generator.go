package workloads

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vectorstream/vectorstream/event"
)

// GeneratorConfig configures the catalog and session simulator. Zero values
// take the defaults named on each field.
type GeneratorConfig struct {
	// Seed selects the stream: same seed and config, same bytes.
	Seed int64 `yaml:"seed" json:"seed"`
	// Products is the catalog size (default 5000).
	Products int `yaml:"products" json:"products"`
	// Users is the number of distinct users (default 10000).
	Users int `yaml:"users" json:"users"`
	// ActiveSessions is how many sessions are interleaved at once (default 256,
	// at most Users).
	ActiveSessions int `yaml:"active_sessions" json:"active_sessions"`
	// Locales maps a locale to its share of users (default en-US 0.7,
	// tr-TR 0.3). Locales whose language is "tr" get Turkish text.
	Locales map[string]float64 `yaml:"locales" json:"locales"`
	// Transitions are the Markov chain weights between event types (nil
	// means DefaultTransitions). See StationaryMix.
	Transitions map[event.EventType]map[event.EventType]float64 `yaml:"transitions" json:"transitions"`
	// SessionEnd is the probability that a session ends before an entry
	// event (page_view, search or product_view); default 0.08.
	SessionEnd float64 `yaml:"session_end" json:"session_end"`
	// MalformedFraction is the share of records deliberately broken, 0..1.
	MalformedFraction float64 `yaml:"malformed_fraction" json:"malformed_fraction"`
	// MalformedBursts raise the malformed share for ranges of the stream (a
	// malformed_burst fault): they are positions, not times, so regenerating the
	// stream reproduces them exactly.
	MalformedBursts []MalformedBurst `yaml:"malformed_bursts" json:"malformed_bursts,omitempty"`
	// MalformedKinds restricts the kinds produced (nil means all of MalformedKinds).
	MalformedKinds []MalformedKind `yaml:"malformed_kinds" json:"malformed_kinds"`
	// TypoRate is the probability that a search query carries a typo, 0..1.
	TypoRate float64 `yaml:"typo_rate" json:"typo_rate"`
	// ZipfExponent shapes product popularity, weight ∝ 1/rank^s (default 1.1).
	ZipfExponent float64 `yaml:"zipf_exponent" json:"zipf_exponent"`
	// MaxEventBytes is the validator's MaxBytes that oversize records must
	// exceed (default DefaultValidatorConfig().MaxBytes).
	MaxEventBytes int `yaml:"max_event_bytes" json:"max_event_bytes"`
}

// MalformedBurst sets the malformed share of the records with From <= Seq < To.
type MalformedBurst struct {
	From     int64   `yaml:"from" json:"from"`
	To       int64   `yaml:"to" json:"to"`
	Fraction float64 `yaml:"fraction" json:"fraction"`
}

// malformedFraction is the malformed share at stream position seq.
func (c *GeneratorConfig) malformedFraction(seq int64) float64 {
	for _, b := range c.MalformedBursts {
		if seq >= b.From && seq < b.To {
			return b.Fraction
		}
	}
	return c.MalformedFraction
}

// DefaultGeneratorConfig returns a config with every default filled in.
func DefaultGeneratorConfig() GeneratorConfig {
	return GeneratorConfig{
		Seed:           1,
		Products:       5000,
		Users:          10000,
		ActiveSessions: 256,
		Locales:        map[string]float64{"en-US": 0.7, "tr-TR": 0.3},
		Transitions:    DefaultTransitions(),
		SessionEnd:     0.08,
		ZipfExponent:   1.1,
		MaxEventBytes:  event.DefaultValidatorConfig().MaxBytes,
	}
}

// withDefaults fills zero fields.
func (c GeneratorConfig) withDefaults() GeneratorConfig {
	d := DefaultGeneratorConfig()
	if c.Products == 0 {
		c.Products = d.Products
	}
	if c.Users == 0 {
		c.Users = d.Users
	}
	if c.ActiveSessions == 0 {
		c.ActiveSessions = min(d.ActiveSessions, c.Users)
	}
	if c.Locales == nil {
		c.Locales = d.Locales
	}
	if c.Transitions == nil {
		c.Transitions = d.Transitions
	}
	if c.SessionEnd == 0 {
		c.SessionEnd = d.SessionEnd
	}
	if c.ZipfExponent == 0 {
		c.ZipfExponent = d.ZipfExponent
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = d.MaxEventBytes
	}
	return c
}

// Validate reports every configuration problem at once, each naming its field.
func (c GeneratorConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Products < 0 {
		errs = append(errs, fmt.Errorf("products: must be > 0, got %d", c.Products))
	}
	if c.Users < 0 {
		errs = append(errs, fmt.Errorf("users: must be > 0, got %d", c.Users))
	}
	if c.ActiveSessions < 0 || (c.Users > 0 && c.ActiveSessions > c.Users) {
		errs = append(errs, fmt.Errorf("active_sessions: must be in 1..users (%d), got %d", c.Users, c.ActiveSessions))
	}
	if len(c.Locales) == 0 {
		errs = append(errs, errors.New("locales: must name at least one locale"))
	}
	sum := 0.0
	var lerrs []error
	for loc, w := range c.Locales {
		if !event.ValidLocale(loc) {
			lerrs = append(lerrs, fmt.Errorf("locales[%q]: not a locale like en-US", loc))
		}
		if w < 0 || math.IsNaN(w) || math.IsInf(w, 0) {
			lerrs = append(lerrs, fmt.Errorf("locales[%q]: weight must be finite and >= 0, got %v", loc, w))
		} else {
			sum += w
		}
	}
	errs = append(errs, sortErrs(lerrs)...)
	if len(c.Locales) > 0 && sum <= 0 {
		errs = append(errs, errors.New("locales: weights must sum to > 0"))
	}
	if _, err := denseChain(c.Transitions); err != nil {
		errs = append(errs, err)
	} else if _, err := StationaryMix(c.Transitions); err != nil {
		errs = append(errs, err)
	}
	if c.SessionEnd < 0 || c.SessionEnd > 1 {
		errs = append(errs, fmt.Errorf("session_end: must be in [0,1], got %v", c.SessionEnd))
	}
	if !(c.MalformedFraction >= 0 && c.MalformedFraction <= 1) {
		errs = append(errs, fmt.Errorf("malformed_fraction: must be in [0,1], got %v", c.MalformedFraction))
	}
	for i, b := range c.MalformedBursts {
		if b.From < 0 || b.To < b.From || !(b.Fraction >= 0 && b.Fraction <= 1) {
			errs = append(errs, fmt.Errorf("malformed_bursts[%d]: want 0 <= from <= to and fraction in [0,1], got %+v", i, b))
		}
	}
	for i, k := range c.MalformedKinds {
		if !k.Valid() {
			errs = append(errs, fmt.Errorf("malformed_kinds[%d]: unknown kind %q", i, k))
		}
	}
	if !(c.TypoRate >= 0 && c.TypoRate <= 1) {
		errs = append(errs, fmt.Errorf("typo_rate: must be in [0,1], got %v", c.TypoRate))
	}
	if !(c.ZipfExponent > 0) || math.IsInf(c.ZipfExponent, 0) {
		errs = append(errs, fmt.Errorf("zipf_exponent: must be > 0, got %v", c.ZipfExponent))
	}
	if c.MaxEventBytes < 0 {
		errs = append(errs, fmt.Errorf("max_event_bytes: must be > 0, got %d", c.MaxEventBytes))
	}
	return errors.Join(errs...)
}

func sortErrs(errs []error) []error {
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// Record is one generated message for the raw_data topic.
//
// Ownership: Value and EventID are freshly allocated for each record and
// belong to the caller. Key, Event.Product (and its Attributes) and the
// strings of Event point into the generator's catalog and user tables,
// which are shared by every record: treat them as read-only.
type Record struct {
	Seq     int64       // 0-based position in the stream
	EventID string      // event_id of the event; also set on malformed records (carry it in a header)
	Key     []byte      // user_id bytes: the partitioning key (read-only, shared)
	Value   []byte      // the JSON document, or the malformed bytes
	Event   event.Event // the event as generated, before any corruption
	// Malformed is true when Value was deliberately broken; Reason is then
	// the Reason the validator must return for it, and Kind how it was broken.
	Malformed bool
	Reason    event.Reason
	Kind      MalformedKind
	// QueryCategory is, for searches, the category slug the query was
	// generated from (the relevance label for retrieval tests).
	QueryCategory string
}

// user is a simulated shopper.
type user struct {
	id        string
	key       []byte
	locale    string
	lang      int
	device    string
	interests [2]int32 // favourite categories
	active    bool
}

const cartCap = 8

// session is one slot of interleaved activity.
type session struct {
	user     int32
	id       string
	state    int8 // index into EventTypes of the last event
	interest int32
	lastProd int32 // -1 when none
	queryCat int32 // category of the last search, -1 when none
	events   int32
	cart     [cartCap]int32
	nCart    int8
}

// Generator produces a deterministic stream of Records. It is not safe for
// concurrent use; run one per goroutine (with different seeds) for parallel
// load.
type Generator struct {
	cfg      GeneratorConfig
	rng      *prng
	cat      *catalog
	users    []user
	sessions []session
	chain    chain
	rows     [nTypes]alias
	start    alias // stationary distribution, for a slot's first event
	malKinds [nTypes][]MalformedKind
	seq      int64
	nSess    uint64
	idKey    uint64
	buf      []byte
	qbuf     []byte
	enc      event.Encoder
}

// Devices a user may have, with their shares.
var (
	deviceNames   = []string{"mobile", "desktop", "tablet", "app"}
	deviceWeights = []float64{0.45, 0.32, 0.08, 0.15}
)

// NewGenerator validates cfg, builds the catalog and the users, and returns
// a generator positioned at Seq 0.
func NewGenerator(cfg GeneratorConfig) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("workloads: generator config: %w", err)
	}
	cfg = cfg.withDefaults()
	g := &Generator{cfg: cfg, rng: newPRNG(cfg.Seed, 1)}
	g.idKey = splitmix(uint64(cfg.Seed) ^ 0x5ca1ab1e)
	g.chain, _ = denseChain(cfg.Transitions)
	pi, err := g.chain.stationary()
	if err != nil {
		return nil, fmt.Errorf("workloads: generator config: %w", err)
	}
	for i := range nTypes {
		g.rows[i] = newAlias(g.chain[i][:])
	}
	g.start = newAlias(pi[:])

	lx := sharedLexicon()
	g.cat = buildCatalog(lx, cfg.Products, cfg.ZipfExponent, newPRNG(cfg.Seed, 2))

	// Users, with locales drawn in sorted-key order (no map iteration order).
	locs := make([]string, 0, len(cfg.Locales))
	for l := range cfg.Locales {
		locs = append(locs, l)
	}
	slices.Sort(locs)
	lw := make([]float64, len(locs))
	for i, l := range locs {
		lw[i] = cfg.Locales[l]
	}
	locAlias := newAlias(lw)
	devAlias := newAlias(deviceWeights)
	ur := newPRNG(cfg.Seed, 3)
	g.users = make([]user, cfg.Users)
	for i := range g.users {
		id := "u-" + pad(i, 7)
		loc := locs[locAlias.draw(ur)]
		g.users[i] = user{
			id:        id,
			key:       []byte(id),
			locale:    loc,
			lang:      langOf(loc),
			device:    deviceNames[devAlias.draw(ur)],
			interests: [2]int32{int32(g.cat.catPop.draw(ur)), int32(g.cat.catPop.draw(ur))},
		}
	}

	kinds := cfg.MalformedKinds
	if kinds == nil {
		kinds = MalformedKinds
	}
	for ti, t := range event.EventTypes {
		for _, k := range kinds {
			if k.appliesTo(t) && !slices.Contains(g.malKinds[ti], k) {
				g.malKinds[ti] = append(g.malKinds[ti], k)
			}
		}
	}

	g.sessions = make([]session, cfg.ActiveSessions)
	for i := range g.sessions {
		s := &g.sessions[i]
		s.state = int8(g.start.draw(g.rng))
		g.newSession(s)
	}
	g.buf = make([]byte, 0, 1024)
	return g, nil
}

// Catalog returns the catalog with English titles (index i is product
// "p-00000i"). The slice is a copy; the products' Attributes are shared and
// read-only.
func (g *Generator) Catalog() []event.Product { return slices.Clone(g.cat.products[langEN]) }

// CatalogFor returns the catalog as users of locale see it (Turkish titles
// and attribute values for "tr-*", English otherwise). Same ownership as
// Catalog.
func (g *Generator) CatalogFor(locale string) []event.Product {
	return slices.Clone(g.cat.products[langOf(locale)])
}

// Config returns the effective configuration (defaults filled in).
func (g *Generator) Config() GeneratorConfig { return g.cfg }

// newSession assigns a fresh user and session id to slot s, keeping its
// chain state.
func (g *Generator) newSession(s *session) {
	if s.id != "" {
		g.users[s.user].active = false
	}
	u := int32(g.rng.IntN(len(g.users)))
	for tries := 0; g.users[u].active && tries < 8; tries++ {
		u = int32(g.rng.IntN(len(g.users)))
	}
	g.users[u].active = true
	s.user = u
	g.nSess++
	h := splitmix(g.idKey ^ (g.nSess * 0x9e3779b97f4a7c15))
	var b [18]byte
	b[0], b[1] = 's', '-'
	for i := 17; i >= 2; i-- {
		b[i] = hexDigits[h&0xF]
		h >>= 4
	}
	s.id = string(b[:])
	usr := &g.users[u]
	if g.rng.Float64() < 0.8 {
		s.interest = usr.interests[g.rng.IntN(2)]
	} else {
		s.interest = int32(g.cat.catPop.draw(g.rng))
	}
	s.lastProd = -1
	s.queryCat = -1
	s.events = 0
	s.nCart = 0
}

const maxSessionEvents = 200

// Next returns the record with the next sequence number, stamped with
// intended (converted to UTC) as its timestamp. The stream depends only on
// the config and the sequence of calls, never on GOMAXPROCS or wall time.
func (g *Generator) Next(intended time.Time) Record {
	r := g.rng
	s := &g.sessions[r.IntN(len(g.sessions))]
	next := int8(g.rows[s.state].draw(r))
	t := event.EventTypes[next]
	if t == event.PageView || t == event.Search || t == event.ProductView {
		if s.events >= maxSessionEvents || r.Float64() < g.cfg.SessionEnd {
			g.newSession(s)
		}
	}
	prev := s.state
	s.state = next
	s.events++
	usr := &g.users[s.user]
	lang := usr.lang

	seq := g.seq
	g.seq++
	rec := Record{Seq: seq, Key: usr.key}
	rec.EventID = g.eventID(seq)
	e := &rec.Event
	*e = event.Event{
		SchemaVersion: event.SchemaVersion,
		EventID:       rec.EventID,
		EventType:     t,
		Timestamp:     intended.UTC(),
		UserID:        usr.id,
		SessionID:     s.id,
		Device:        usr.device,
		Locale:        usr.locale,
	}
	prod := int32(-1)
	switch t {
	case event.Search:
		ci := s.interest
		if r.Float64() < 0.3 {
			ci = int32(g.cat.catPop.draw(r))
		}
		q := g.cat.query(g.qbuf[:0], int(ci), lang, r)
		if g.cfg.TypoRate > 0 && r.Float64() < g.cfg.TypoRate {
			q = typo(q, lang, r)
		}
		g.qbuf = q
		e.Query = string(q)
		s.queryCat = ci
		rec.QueryCategory = g.cat.lx.categories[ci].def.slug
	case event.ProductView:
		prod = g.pickProduct(s, prev == 2 /* search */)
		s.lastProd = prod
	case event.AddToCart:
		prod = s.lastProd
		if prod < 0 {
			prod = g.pickProduct(s, false)
		}
		if s.nCart == cartCap {
			copy(s.cart[:], s.cart[1:])
			s.nCart--
		}
		s.cart[s.nCart] = prod
		s.nCart++
		e.Quantity = quantity(r)
	case event.RemoveFromCart, event.Purchase:
		if s.nCart > 0 {
			k := r.IntN(int(s.nCart))
			prod = s.cart[k]
			copy(s.cart[k:], s.cart[k+1:s.nCart])
			s.nCart--
		} else if s.lastProd >= 0 {
			prod = s.lastProd
		} else {
			prod = g.pickProduct(s, false)
		}
		e.Quantity = 1
		if t == event.Purchase {
			e.Quantity = quantity(r)
		}
	}
	var frag []byte
	if prod >= 0 {
		e.Product = &g.cat.products[lang][prod]
		frag = g.cat.fragments[lang][prod]
	}

	if frac := g.cfg.malformedFraction(seq); frac > 0 && r.Float64() < frac {
		if kinds := g.malKinds[next]; len(kinds) > 0 {
			k := kinds[r.IntN(len(kinds))]
			rec.Malformed = true
			rec.Kind = k
			rec.Reason = k.Reason()
			rec.Value = g.malform(k, e, frag)
			return rec
		}
	}
	g.buf = g.enc.Append(g.buf[:0], e, frag)
	rec.Value = append(make([]byte, 0, len(g.buf)), g.buf...)
	return rec
}

func quantity(r *prng) int {
	switch u := r.Float64(); {
	case u < 0.8:
		return 1
	case u < 0.95:
		return 2
	default:
		return 3
	}
}

// pickProduct chooses a product to view: after a search mostly from the
// query's category, otherwise from the session's interest or the whole
// catalog, by popularity.
func (g *Generator) pickProduct(s *session, afterSearch bool) int32 {
	r := g.rng
	ci := int32(-1)
	switch u := r.Float64(); {
	case afterSearch && s.queryCat >= 0 && u < 0.85:
		ci = s.queryCat
	case u < 0.6:
		ci = s.interest
	}
	if ci >= 0 && len(g.cat.members[ci]) > 0 {
		a := &g.cat.byCategory[ci]
		return g.cat.members[ci][a.draw(r)]
	}
	return int32(g.cat.popular.draw(r))
}

// eventID formats a UUID (version 8, RFC 9562 variant) derived from the
// seed and the sequence number; distinct sequence numbers give distinct ids.
func (g *Generator) eventID(seq int64) string {
	hi := splitmix(uint64(seq) + g.idKey) // a bijection of seq for a fixed key
	lo := splitmix(hi ^ 0xd1b54a32d192ed03 ^ g.idKey)
	var u [16]byte
	for i := range 8 {
		u[i] = byte(hi >> (56 - 8*i))
		u[8+i] = byte(lo >> (56 - 8*i))
	}
	u[6] = u[6]&0x0F | 0x80
	u[8] = u[8]&0x3F | 0x80
	var b [36]byte
	j := 0
	for i, x := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j] = hexDigits[x>>4]
		b[j+1] = hexDigits[x&0xF]
		j += 2
	}
	return string(b[:])
}

const hexDigits = "0123456789abcdef"

// splitmix is the SplitMix64 finaliser, a bijection on uint64.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func appendSmallInt(dst []byte, v int) []byte {
	if v >= 0 && v < 10 {
		return append(dst, byte('0'+v))
	}
	return strconv.AppendInt(dst, int64(v), 10)
}

// sharedLexicon parses the lexicon once per process; it is read-only.
var sharedLexicon = sync.OnceValue(newLexicon)
