package workloads_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/vectorstream/vectorstream/event"

	"github.com/google/uuid"

	"github.com/vectorstream/vectorstream/workloads"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newGen(t testing.TB, cfg workloads.GeneratorConfig) *workloads.Generator {
	t.Helper()
	g, err := workloads.NewGenerator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// streamHash hashes the keys and values of n records.
func streamHash(t *testing.T, cfg workloads.GeneratorConfig, n int) string {
	g := newGen(t, cfg)
	h := sha256.New()
	for i := range n {
		r := g.Next(testNow.Add(time.Duration(i) * time.Microsecond))
		h.Write(r.Key)
		h.Write(r.Value)
		h.Write([]byte(r.EventID))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Not parallel: it changes GOMAXPROCS.
func TestGeneratorDeterministic(t *testing.T) {
	cfg := workloads.GeneratorConfig{Seed: 42, MalformedFraction: 0.05, TypoRate: 0.1}
	const n = 100_000
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	var hashes []string
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for range 2 {
			hashes = append(hashes, streamHash(t, cfg, n))
		}
	}
	for i, h := range hashes {
		if h != hashes[0] {
			t.Fatalf("run %d hash %s differs from run 0 hash %s", i, h, hashes[0])
		}
	}
	cfg.Seed = 43
	if streamHash(t, cfg, 1000) == streamHash(t, workloads.GeneratorConfig{Seed: 42, MalformedFraction: 0.05, TypoRate: 0.1}, 1000) {
		t.Error("different seeds produced the same stream")
	}
}

func TestGeneratorValidRecords(t *testing.T) {
	t.Parallel()
	g := newGen(t, workloads.GeneratorConfig{Seed: 9, Products: 2000, Users: 3000, TypoRate: 0.3})
	v := event.NewValidator(event.DefaultValidatorConfig())
	ids := map[string]bool{}
	types := map[event.EventType]int{}
	const n = 30_000
	for i := range n {
		intended := testNow.Add(time.Duration(i) * 333 * time.Microsecond).In(time.FixedZone("x", 3600))
		r := g.Next(intended)
		if r.Seq != int64(i) || r.Malformed || r.Reason != "" {
			t.Fatalf("record %d: seq %d malformed %v reason %q", i, r.Seq, r.Malformed, r.Reason)
		}
		e, rj := v.Validate(r.Value, intended)
		if rj != nil {
			t.Fatalf("record %d rejected: %v\n%s", i, rj, r.Value)
		}
		if !e.Timestamp.Equal(intended) || r.Event.Timestamp.Location() != time.UTC {
			t.Fatalf("timestamp %v, want %v in UTC", e.Timestamp, intended)
		}
		if !equalEvents(e, r.Event) {
			t.Fatalf("decoded %+v\nwant %+v", e, r.Event)
		}
		if !bytes.Equal(r.Value, r.Event.AppendJSON(nil)) {
			t.Fatalf("Value differs from Event.AppendJSON:\n%s\n%s", r.Value, r.Event.AppendJSON(nil))
		}
		if string(r.Key) != e.UserID || r.EventID != e.EventID {
			t.Fatalf("key %q event id %q; event %q %q", r.Key, r.EventID, e.UserID, e.EventID)
		}
		if _, err := uuid.Parse(r.EventID); err != nil {
			t.Fatalf("event id %q: %v", r.EventID, err)
		}
		if ids[r.EventID] {
			t.Fatalf("duplicate event id %s", r.EventID)
		}
		ids[r.EventID] = true
		types[e.EventType]++
		if e.EventType == event.Search && r.QueryCategory == "" {
			t.Fatalf("search without QueryCategory")
		}
	}
	// The observed mix follows the stationary distribution of the chain.
	mix, err := workloads.StationaryMix(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range event.EventTypes {
		got := float64(types[et]) / n
		if math.Abs(got-mix[et]) > 0.02 {
			t.Errorf("%s: share %.3f, stationary %.3f", et, got, mix[et])
		}
	}
}

func equalEvents(a, b event.Event) bool {
	if (a.Product == nil) != (b.Product == nil) {
		return false
	}
	if a.Product != nil {
		pa, pb := *a.Product, *b.Product
		if pa.ID != pb.ID || pa.Title != pb.Title || pa.Brand != pb.Brand || pa.Category != pb.Category ||
			pa.Price != pb.Price || len(pa.Attributes) != len(pb.Attributes) {
			return false
		}
		for i := range pa.Attributes {
			if pa.Attributes[i] != pb.Attributes[i] {
				return false
			}
		}
	}
	a.Product, b.Product = nil, nil
	return a.Timestamp.Equal(b.Timestamp) && (func() bool { a.Timestamp, b.Timestamp = time.Time{}, time.Time{}; return a == b })()
}

func TestGeneratorMalformedKinds(t *testing.T) {
	t.Parallel()
	g := newGen(t, workloads.GeneratorConfig{Seed: 11, Products: 500, Users: 1000, MalformedFraction: 0.2})
	v := event.NewValidator(event.DefaultValidatorConfig())
	seen := map[workloads.MalformedKind]int{}
	malformed := 0
	const n = 30_000
	for i := range n {
		intended := testNow.Add(time.Duration(i) * time.Millisecond)
		r := g.Next(intended)
		if r.EventID == "" || r.EventID != r.Event.EventID {
			t.Fatalf("record %d: EventID %q, event %q", i, r.EventID, r.Event.EventID)
		}
		if string(r.Key) != r.Event.UserID {
			t.Fatalf("record %d: key %q, user %q", i, r.Key, r.Event.UserID)
		}
		_, rj := v.Validate(r.Value, intended)
		if !r.Malformed {
			if rj != nil {
				t.Fatalf("valid record %d rejected: %v\n%s", i, rj, r.Value)
			}
			continue
		}
		malformed++
		seen[r.Kind]++
		if rj == nil {
			t.Fatalf("malformed record %d (%s) accepted:\n%s", i, r.Kind, r.Value)
		}
		if rj.Reason != r.Reason || r.Reason != r.Kind.Reason() {
			t.Fatalf("record %d kind %s: validator says %v, record says %s\n%q", i, r.Kind, rj, r.Reason, r.Value)
		}
	}
	if frac := float64(malformed) / n; math.Abs(frac-0.2) > 0.02 {
		t.Errorf("malformed share %.3f, want 0.2", frac)
	}
	for _, k := range workloads.MalformedKinds {
		t.Run(string(k), func(t *testing.T) {
			if seen[k] < 20 {
				t.Errorf("kind %s produced %d times", k, seen[k])
			}
		})
	}
}

func TestGeneratorText(t *testing.T) {
	t.Parallel()
	g := newGen(t, workloads.GeneratorConfig{Seed: 2, Products: 3000, Users: 2000, TypoRate: 0.5})
	catTR := g.CatalogFor("tr-TR")
	cats := map[string]bool{}
	var trTitles strings.Builder
	for i, p := range g.Catalog() {
		cats[p.Category] = true
		lower := strings.ToLower(p.Title)
		for _, w := range strings.FieldsFunc(strings.ReplaceAll(p.Category, "_", " "), unicode.IsSpace) {
			if strings.Contains(lower, w) {
				t.Errorf("title %q contains its category word %q", p.Title, w)
			}
		}
		if catTR[i].ID != p.ID || catTR[i].Category != p.Category || catTR[i].Price != p.Price {
			t.Fatalf("Turkish catalog entry %d differs beyond text", i)
		}
		trTitles.WriteString(catTR[i].Title + " ")
	}
	if len(cats) != 20 {
		t.Errorf("%d categories, want 20", len(cats))
	}
	tr := trTitles.String()
	for _, r := range "çğıİöşüIÇŞÖÜ" {
		if !strings.ContainsRune(tr, r) {
			t.Errorf("Turkish titles never contain %q", r)
		}
	}
	// Some words start with İ or I so that Turkish lower-casing matters.
	if !strings.Contains(tr, " İ") || !strings.Contains(tr, " I") {
		t.Error("no Turkish title word starts with İ or I")
	}
	trQueries := 0
	for range 20_000 {
		r := g.Next(testNow)
		if r.Event.EventType == event.Search && r.Event.Locale == "tr-TR" {
			trQueries++
		}
	}
	if trQueries == 0 {
		t.Error("no Turkish queries")
	}
}

func TestGeneratorConfigValidate(t *testing.T) {
	t.Parallel()
	cfg := workloads.GeneratorConfig{
		Products: -1, MalformedFraction: 1.5, TypoRate: -0.1,
		Locales:        map[string]float64{"en-US": -1, "!!": 1},
		MalformedKinds: []workloads.MalformedKind{"nope"},
		Transitions:    map[event.EventType]map[event.EventType]float64{event.PageView: {"teleport": 1}},
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"products:", "malformed_fraction:", "typo_rate:", `locales["en-US"]`, `locales["!!"]`, "malformed_kinds[0]", `transitions[page_view]["teleport"]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if _, err := workloads.NewGenerator(cfg); err == nil {
		t.Error("NewGenerator accepted a bad config")
	}
	if err := (workloads.GeneratorConfig{}).Validate(); err != nil {
		t.Errorf("zero config (all defaults): %v", err)
	}
	var zero workloads.GeneratorConfig
	zero.Transitions = map[event.EventType]map[event.EventType]float64{event.PageView: {event.Search: 1}}
	if err := zero.Validate(); err == nil || !strings.Contains(err.Error(), "transitions[search]") {
		t.Errorf("reachable state without row: %v", err)
	}
	_ = errors.Join
}

func TestStationaryMix(t *testing.T) {
	t.Parallel()
	type row = map[event.EventType]float64
	cases := []struct {
		name string
		tr   map[event.EventType]row
		want row
	}{
		{
			// pv = .5pv + s, s = .5pv  ⇒  pv = 2/3, s = 1/3
			"two states",
			map[event.EventType]row{event.PageView: {event.PageView: 0.5, event.Search: 0.5}, event.Search: {event.PageView: 1}},
			row{event.PageView: 2.0 / 3, event.Search: 1.0 / 3},
		},
		{
			// a deterministic cycle visits each state equally; weights need not sum to 1
			"cycle",
			map[event.EventType]row{event.PageView: {event.ProductView: 3}, event.ProductView: {event.AddToCart: 7}, event.AddToCart: {event.PageView: 0.2}},
			row{event.PageView: 1.0 / 3, event.ProductView: 1.0 / 3, event.AddToCart: 1.0 / 3},
		},
		{
			// pv→{pv .5, prod .5}; prod→{pv .25, cart .75}; cart→{pv 1}
			// pv = .5pv + .25prod + cart, prod = .5pv, cart = .75prod = .375pv
			// pv(1 + .5 + .375) = 1  ⇒  pv = 8/15, prod = 4/15, cart = 3/15
			"three states",
			map[event.EventType]row{
				event.PageView:    {event.PageView: 0.5, event.ProductView: 0.5},
				event.ProductView: {event.PageView: 0.25, event.AddToCart: 0.75},
				event.AddToCart:   {event.PageView: 1},
			},
			row{event.PageView: 8.0 / 15, event.ProductView: 4.0 / 15, event.AddToCart: 3.0 / 15},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := workloads.StationaryMix(tc.tr)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, w := range tc.want {
				if math.Abs(got[k]-w) > 1e-12 {
					t.Errorf("%s: %.15f, want %.15f", k, got[k], w)
				}
			}
		})
	}
	// Two closed classes: no unique stationary distribution.
	if _, err := workloads.StationaryMix(map[event.EventType]row{event.PageView: {event.PageView: 1}, event.Search: {event.Search: 1}}); err == nil {
		t.Error("reducible chain accepted")
	}
	def, err := workloads.StationaryMix(nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, et := range event.EventTypes {
		if def[et] <= 0 {
			t.Errorf("default chain never emits %s", et)
		}
		sum += def[et]
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("default mix sums to %v", sum)
	}
}

func TestMalformedBurst(t *testing.T) {
	cfg := workloads.GeneratorConfig{Seed: 5, Products: 300, Users: 500,
		MalformedBursts: []workloads.MalformedBurst{{From: 1000, To: 3000, Fraction: 0.5}}}
	g := newGen(t, cfg)
	again := newGen(t, cfg)
	in, out := 0, 0
	for i := range 4000 {
		r := g.Next(time.Unix(1_700_000_000, int64(i)*1e6))
		if r2 := again.Next(time.Unix(1_700_000_000, int64(i)*1e6)); !bytes.Equal(r.Value, r2.Value) {
			t.Fatalf("record %d differs between two generators of one config", i)
		}
		if !r.Malformed {
			continue
		}
		if i >= 1000 && i < 3000 {
			in++
		} else {
			out++
		}
	}
	if out != 0 {
		t.Errorf("%d malformed records outside the burst, want 0", out)
	}
	if in < 900 || in > 1100 {
		t.Errorf("%d of 2000 records in the burst malformed, want about 1000", in)
	}
	bad := cfg
	bad.MalformedBursts = []workloads.MalformedBurst{{From: 10, To: 5, Fraction: 2}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "malformed_bursts[0]") {
		t.Errorf("Validate(bad burst) = %v, want an error naming malformed_bursts[0]", err)
	}
}
