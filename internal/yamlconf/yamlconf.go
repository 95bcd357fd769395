// Package yamlconf loads YAML configuration strictly: unknown keys and wrong types are
// reported with file, line and field, every problem at once, and overrides from the
// environment and from flags are applied to the document before it is decoded, so that
// one schema serves files, VECTORSTREAM_* variables and --set flags alike.
//
// It owns no schema of its own; callers pass the struct to decode into and validate the
// decoded values themselves, using Doc.Errorf to point at the line a field came from.
package yamlconf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/vectorstream/vectorstream/internal/problem"
	"gopkg.in/yaml.v3"
)

// Override sets one field, named by its dotted YAML path, to a value: a scalar, or a
// list or mapping in YAML flow syntax.
type Override struct {
	// Path is the dotted YAML path, e.g. "pipeline.max_batch".
	Path string
	// Value is the scalar as it would be written in YAML.
	Value string
	// Source says where the override came from, e.g. "env VECTORSTREAM_SEED" or "flag --set".
	Source string
}

// Doc remembers where each field of a loaded document came from.
type Doc struct {
	file    string
	lines   map[string]int
	sources map[string]string
	empty   bool // the file held no document (nothing, or only comments)
}

// Empty reports whether the file held no document at all (nothing, or only
// comments); overrides may still have set fields.
func (d *Doc) Empty() bool { return d.empty }

// FieldError is one problem with one field.
type FieldError struct {
	File  string
	Line  int
	Field string
	Msg   string
	// Source, when set, replaces file:line (the value came from an override).
	Source string
}

func (e *FieldError) Error() string {
	switch {
	case e.Source != "":
		return fmt.Sprintf("%s (%s): %s: %s", e.File, e.Source, e.Field, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Field, e.Msg)
	default:
		return fmt.Sprintf("%s: %s: %s", e.File, e.Field, e.Msg)
	}
}

// Errorf returns a FieldError for the dotted path, pointing at the line it was set on, or
// at its nearest parent that is in the document (a default value has no line of its own).
func (d *Doc) Errorf(path, format string, args ...any) error {
	fe := &FieldError{File: d.file, Field: path, Msg: fmt.Sprintf(format, args...)}
	if src, ok := d.sources[path]; ok {
		fe.Source = src
		return fe
	}
	for p := path; p != ""; p = parent(p) {
		if l, ok := d.lines[p]; ok {
			fe.Line = l
			break
		}
	}
	return fe
}

// File is the name of the file the document was read from.
func (d *Doc) File() string { return d.file }

func parent(p string) string {
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// MaxFileBytes is the largest configuration file LoadFile reads.
const MaxFileBytes = 1 << 20

// LoadFile reads path (at most MaxFileBytes) and decodes it into out (a pointer to a
// struct already holding the defaults) with Load.
func LoadFile(path string, out any, overrides []Override) (*Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes: not a configuration file", path, MaxFileBytes)
	}
	return Load(path, data, out, overrides)
}

// Load decodes data into out strictly. Keys that out's type does not have, values of the
// wrong type and unknown override paths are all reported together, joined with
// errors.Join, each naming file, line and field. An empty document leaves out unchanged.
func Load(file string, data []byte, out any, overrides []Override) (*Doc, error) {
	d := &Doc{file: file, lines: map[string]int{}, sources: map[string]string{}}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var doc *yaml.Node
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		doc = root.Content[0]
	} else {
		doc = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		d.empty = true
	}
	if doc.Kind != yaml.MappingNode {
		return nil, &FieldError{File: file, Line: doc.Line, Field: "(document)", Msg: "must be a mapping of keys to values"}
	}
	t := reflect.TypeOf(out)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("yamlconf: out must be a pointer to a struct, got %T", out)
	}
	var errs []error
	for _, o := range overrides {
		if _, ok := fieldType(t.Elem(), o.Path); !ok {
			errs = append(errs, &FieldError{File: file, Field: o.Path, Source: o.Source, Msg: "no such field"})
			continue
		}
		set(doc, strings.Split(o.Path, "."), o.Value)
		d.sources[o.Path] = o.Source
	}
	errs = append(errs, d.check(doc, t.Elem(), "")...)
	if len(errs) > 0 {
		return d, errors.Join(problem.Cap(errs)...)
	}
	if err := doc.Decode(out); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, fmt.Errorf("%s:%s", file, strings.TrimPrefix(m, "line ")))
			}
			return d, errors.Join(problem.Cap(errs)...)
		}
		return d, fmt.Errorf("%s: %w", file, err)
	}
	return d, nil
}

var durationType = reflect.TypeFor[time.Duration]()

// check walks the node against the type, records the line of every key and reports keys
// the type does not have and scalars that cannot be what the type wants.
func (d *Doc) check(n *yaml.Node, t reflect.Type, path string) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		return []error{d.at(n, path, "YAML aliases are not allowed here: write the value out")}
	}
	var errs []error
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
				return nil
			}
			return []error{d.at(n, path, "must be a mapping")}
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			d.lines[p] = k.Line
			ft, ok := fields[k.Value]
			if !ok {
				errs = append(errs, d.at(k, p, "unknown key (known: %s)", keys(fields)))
				continue
			}
			errs = append(errs, d.check(v, ft, p)...)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
				return nil
			}
			return []error{d.at(n, path, "must be a mapping")}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			d.lines[p] = k.Line
			errs = append(errs, d.check(v, t.Elem(), p)...)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
				return nil
			}
			return []error{d.at(n, path, "must be a list")}
		}
		for i, v := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.lines[p] = v.Line
			errs = append(errs, d.check(v, t.Elem(), p)...)
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return []error{d.at(n, path, "must be a single value, not a %s", kindName(n.Kind))}
		}
		if t == durationType {
			if _, err := time.ParseDuration(n.Value); err != nil {
				return []error{d.at(n, path, "%q is not a duration (use e.g. 500ms, 30s, 2m)", n.Value)}
			}
			return nil
		}
		if _, ok := reflect.New(t).Interface().(yaml.Unmarshaler); ok {
			return nil
		}
		v := reflect.New(t)
		if err := n.Decode(v.Interface()); err != nil {
			return []error{d.at(n, path, "%q is not a valid %s", n.Value, typeName(t))}
		}
	}
	return errs
}

func (d *Doc) at(n *yaml.Node, path, format string, args ...any) error {
	fe := &FieldError{File: d.file, Line: n.Line, Field: path, Msg: fmt.Sprintf(format, args...)}
	if src, ok := d.sources[path]; ok {
		fe.Source = src
	}
	return fe
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "node"
	}
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.String:
		return "string"
	}
	return t.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func keys(m map[string]reflect.Type) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// yamlFields maps the YAML keys of a struct to their types, following inline fields.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range yamlFields(ft) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// fieldType resolves a dotted path against a type.
func fieldType(t reflect.Type, path string) (reflect.Type, bool) {
	for _, part := range strings.Split(path, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			ft, ok := yamlFields(t)[part]
			if !ok {
				return nil, false
			}
			t = ft
		case reflect.Map:
			t = t.Elem()
		default:
			return nil, false
		}
	}
	return t, true
}

// Paths lists the dotted paths of every scalar field of the struct type of v, for
// building environment variable names. Maps and lists are not expanded.
func Paths(v any) []string {
	var out []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == durationType {
			out = append(out, prefix)
			return
		}
		fields := yamlFields(t)
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			ft := fields[k]
			if ft.Kind() == reflect.Map || ft.Kind() == reflect.Slice {
				continue
			}
			walk(ft, join(prefix, k))
		}
	}
	walk(reflect.TypeOf(v), "")
	return out
}

// EnvOverrides returns an Override for every scalar field of v's type whose variable
// prefix + PATH (upper case, dots as underscores) is set in the environment, as looked
// up by getenv.
func EnvOverrides(v any, prefix string, getenv func(string) (string, bool)) []Override {
	var out []Override
	for _, p := range Paths(v) {
		name := EnvName(prefix, p)
		if val, ok := getenv(name); ok {
			out = append(out, Override{Path: p, Value: val, Source: "env " + name})
		}
	}
	return out
}

// EnvName is the environment variable of the dotted path p: prefix + p in upper case,
// dots as underscores ("load.rate" is VECTORSTREAM_LOAD_RATE with prefix VECTORSTREAM_).
func EnvName(prefix, p string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(p, ".", "_"))
}

// ParseSet parses "path=value" as given to a --set flag. An empty value is refused
// (a forgotten value would silently mean the default); an empty string is written ”.
func ParseSet(s string) (Override, error) {
	p, v, ok := strings.Cut(s, "=")
	p = strings.TrimSpace(p)
	if !ok || p == "" {
		return Override{}, fmt.Errorf("--set %q: want path=value, e.g. pipeline.max_batch=500", s)
	}
	if v == "" {
		return Override{}, fmt.Errorf("--set %q: no value after '=' (for an empty string write %s='')", s, p)
	}
	return Override{Path: p, Value: v, Source: "flag --set " + p}, nil
}

// set writes value at path in the mapping node n, creating mappings as needed.
func set(n *yaml.Node, path []string, value string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			v := valueNode(value)
			v.Line = n.Content[i].Line
			n.Content[i+1] = v
			return
		}
		child := n.Content[i+1]
		if child.Kind != yaml.MappingNode {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content[i+1] = child
		}
		set(child, path[1:], value)
		return
	}
	k := &yaml.Node{Kind: yaml.ScalarNode, Value: path[0]}
	if len(path) == 1 {
		n.Content = append(n.Content, k, valueNode(value))
		return
	}
	child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	n.Content = append(n.Content, k, child)
	set(child, path[1:], value)
}

// valueNode reads an override's value: YAML flow syntax makes a list or a mapping
// ("[a:9092, b:9092]", "{en-US: 0.5}"); anything else is a scalar, taken as written.
func valueNode(value string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(value), &doc); err == nil && len(doc.Content) == 1 {
		c := doc.Content[0]
		if c.Kind == yaml.SequenceNode || c.Kind == yaml.MappingNode {
			return c
		}
		if c.Kind == yaml.ScalarNode && c.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			return &yaml.Node{Kind: yaml.ScalarNode, Value: c.Value, Style: c.Style}
		}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Value: value}
}
