package qdrantfake

import (
	"slices"
	"strings"
	"time"

	"github.com/qdrant/go-client/qdrant"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// predicate reports whether a point matches a filter.
type predicate func(*point) bool

func matchAll(*point) bool { return true }

// compileFilter turns a Qdrant filter into a predicate. Conditions the
// stand-in does not implement are an error, never silently true.
func compileFilter(f *qdrant.Filter) (predicate, error) {
	if f == nil {
		return matchAll, nil
	}
	must, err := compileConds(f.GetMust())
	if err != nil {
		return nil, err
	}
	should, err := compileConds(f.GetShould())
	if err != nil {
		return nil, err
	}
	mustNot, err := compileConds(f.GetMustNot())
	if err != nil {
		return nil, err
	}
	var minShould []predicate
	minCount := 0
	if ms := f.GetMinShould(); ms != nil {
		if minShould, err = compileConds(ms.GetConditions()); err != nil {
			return nil, err
		}
		minCount = int(ms.GetMinCount())
	}
	return func(p *point) bool {
		for _, c := range must {
			if !c(p) {
				return false
			}
		}
		for _, c := range mustNot {
			if c(p) {
				return false
			}
		}
		if len(should) > 0 && !slices.ContainsFunc(should, func(c predicate) bool { return c(p) }) {
			return false
		}
		if len(minShould) > 0 {
			n := 0
			for _, c := range minShould {
				if c(p) {
					n++
				}
			}
			if n < minCount {
				return false
			}
		}
		return true
	}, nil
}

func compileConds(cs []*qdrant.Condition) ([]predicate, error) {
	out := make([]predicate, 0, len(cs))
	for _, c := range cs {
		p, err := compileCond(c)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func compileCond(c *qdrant.Condition) (predicate, error) {
	switch v := c.GetConditionOneOf().(type) {
	case *qdrant.Condition_HasId:
		ids := make(map[pointKey]struct{}, len(v.HasId.GetHasId()))
		for _, id := range v.HasId.GetHasId() {
			k, err := keyOf(id)
			if err != nil {
				return nil, err
			}
			ids[k] = struct{}{}
		}
		return func(p *point) bool { _, ok := ids[p.key]; return ok }, nil
	case *qdrant.Condition_Filter:
		return compileFilter(v.Filter)
	case *qdrant.Condition_IsEmpty:
		key := v.IsEmpty.GetKey()
		return func(p *point) bool { return len(lookup(p.payload, key)) == 0 }, nil
	case *qdrant.Condition_IsNull:
		key := v.IsNull.GetKey()
		return func(p *point) bool {
			return slices.ContainsFunc(lookup(p.payload, key), func(x *qdrant.Value) bool {
				_, ok := x.GetKind().(*qdrant.Value_NullValue)
				return ok
			})
		}, nil
	case *qdrant.Condition_Field:
		return compileField(v.Field)
	}
	return nil, errUnsupported("this filter condition")
}

func compileField(fc *qdrant.FieldCondition) (predicate, error) {
	key := fc.GetKey()
	var test func(*qdrant.Value) bool
	switch {
	case fc.GetMatch() != nil:
		t, err := compileMatch(fc.GetMatch())
		if err != nil {
			return nil, err
		}
		test = t
	case fc.GetRange() != nil:
		r := fc.GetRange()
		test = func(x *qdrant.Value) bool {
			var f float64
			switch k := x.GetKind().(type) {
			case *qdrant.Value_DoubleValue:
				f = k.DoubleValue
			case *qdrant.Value_IntegerValue:
				f = float64(k.IntegerValue)
			default:
				return false
			}
			return (r.Lt == nil || f < *r.Lt) && (r.Lte == nil || f <= *r.Lte) &&
				(r.Gt == nil || f > *r.Gt) && (r.Gte == nil || f >= *r.Gte)
		}
	case fc.GetDatetimeRange() != nil:
		test = compileDatetimeRange(fc.GetDatetimeRange())
	case fc.IsEmpty != nil:
		want := fc.GetIsEmpty()
		return func(p *point) bool { return (len(lookup(p.payload, key)) == 0) == want }, nil
	default:
		return nil, errUnsupported("this field condition")
	}
	return func(p *point) bool { return slices.ContainsFunc(lookup(p.payload, key), test) }, nil
}

// compileDatetimeRange tests a payload value that is an RFC 3339 string (or one
// of the zoneless forms Qdrant also reads, as UTC) against r's bounds, in whole
// microseconds as Qdrant compares datetimes.
func compileDatetimeRange(r *qdrant.DatetimeRange) func(*qdrant.Value) bool {
	bound := func(ts *timestamppb.Timestamp) (int64, bool) {
		if ts == nil {
			return 0, false
		}
		return ts.AsTime().UnixMicro(), true
	}
	lt, hasLt := bound(r.GetLt())
	lte, hasLte := bound(r.GetLte())
	gt, hasGt := bound(r.GetGt())
	gte, hasGte := bound(r.GetGte())
	return func(x *qdrant.Value) bool {
		s, ok := x.GetKind().(*qdrant.Value_StringValue)
		if !ok {
			return false
		}
		t, ok := parseDatetime(s.StringValue)
		if !ok {
			return false
		}
		us := t.UnixMicro()
		return (!hasLt || us < lt) && (!hasLte || us <= lte) && (!hasGt || us > gt) && (!hasGte || us >= gte)
	}
}

// parseDatetime reads the datetime forms Qdrant's payload accepts: RFC 3339, and
// the same without a zone (UTC).
func parseDatetime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func compileMatch(m *qdrant.Match) (func(*qdrant.Value) bool, error) {
	str := func(x *qdrant.Value) (string, bool) {
		s, ok := x.GetKind().(*qdrant.Value_StringValue)
		if !ok {
			return "", false
		}
		return s.StringValue, true
	}
	integer := func(x *qdrant.Value) (int64, bool) {
		i, ok := x.GetKind().(*qdrant.Value_IntegerValue)
		if !ok {
			return 0, false
		}
		return i.IntegerValue, true
	}
	switch v := m.GetMatchValue().(type) {
	case *qdrant.Match_Keyword:
		return func(x *qdrant.Value) bool { s, ok := str(x); return ok && s == v.Keyword }, nil
	case *qdrant.Match_Integer:
		return func(x *qdrant.Value) bool { i, ok := integer(x); return ok && i == v.Integer }, nil
	case *qdrant.Match_Boolean:
		return func(x *qdrant.Value) bool {
			b, ok := x.GetKind().(*qdrant.Value_BoolValue)
			return ok && b.BoolValue == v.Boolean
		}, nil
	case *qdrant.Match_Keywords:
		set := v.Keywords.GetStrings()
		return func(x *qdrant.Value) bool { s, ok := str(x); return ok && slices.Contains(set, s) }, nil
	case *qdrant.Match_Integers:
		set := v.Integers.GetIntegers()
		return func(x *qdrant.Value) bool { i, ok := integer(x); return ok && slices.Contains(set, i) }, nil
	case *qdrant.Match_ExceptKeywords:
		set := v.ExceptKeywords.GetStrings()
		return func(x *qdrant.Value) bool { s, ok := str(x); return ok && !slices.Contains(set, s) }, nil
	case *qdrant.Match_ExceptIntegers:
		set := v.ExceptIntegers.GetIntegers()
		return func(x *qdrant.Value) bool { i, ok := integer(x); return ok && !slices.Contains(set, i) }, nil
	case *qdrant.Match_Text:
		return func(x *qdrant.Value) bool { s, ok := str(x); return ok && strings.Contains(s, v.Text) }, nil
	}
	return nil, errUnsupported("this match condition")
}

// lookup returns the values at a dotted payload path, with arrays flattened
// (a condition on an array field matches when any element matches). Null
// values are returned; missing keys and empty arrays give nothing.
func lookup(payload map[string]*qdrant.Value, key string) []*qdrant.Value {
	head, rest, nested := strings.Cut(key, ".")
	head = strings.TrimSuffix(head, "[]")
	v, ok := payload[head]
	if !ok {
		return nil
	}
	var out []*qdrant.Value
	var walk func(v *qdrant.Value)
	walk = func(v *qdrant.Value) {
		switch k := v.GetKind().(type) {
		case *qdrant.Value_ListValue:
			for _, e := range k.ListValue.GetValues() {
				walk(e)
			}
		case *qdrant.Value_StructValue:
			if nested {
				out = append(out, lookup(k.StructValue.GetFields(), rest)...)
			}
		default:
			if !nested {
				out = append(out, v)
			}
		}
	}
	walk(v)
	return out
}
