package workloads

import (
	"fmt"
	"testing"
	"time"
)

func TestSmokeTmp(t *testing.T) {
	g, err := NewGenerator(GeneratorConfig{Seed: 7, MalformedFraction: 0.0, TypoRate: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	v := NewValidator(DefaultValidatorConfig())
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 30; i++ {
		r := g.Next(now.Add(time.Duration(i) * 1234567 * time.Nanosecond))
		_, rj := v.Validate(r.Value, now)
		fmt.Println(string(r.Value), rj)
	}
	for _, p := range g.CatalogFor("tr-TR")[:15] {
		fmt.Println(p.Category, "|", p.Title, "|", ProductText(&p))
	}
	for _, p := range g.Catalog()[:15] {
		fmt.Println(p.Category, "|", p.Title)
	}
}
