package infra

import (
	"testing"
	"time"

	"github.com/vectorstream/vectorstream/infra/qdrantfake"
)

// TestInjectionTranslates checks that infra's injections mean the same to the
// stand-in, both ways, and that the stand-in shows what infra asked for.
func TestInjectionTranslates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   Injection
		want qdrantfake.Injection
	}{
		{Injection{Kind: InjectDown}, qdrantfake.Injection{Kind: qdrantfake.InjectDown}},
		{Injection{Kind: InjectSlow, Latency: time.Second}, qdrantfake.Injection{Kind: qdrantfake.InjectSlow, Latency: time.Second}},
		{Injection{Kind: InjectErrors, Ratio: 0.5}, qdrantfake.Injection{Kind: qdrantfake.InjectErrors, Ratio: 0.5}},
	} {
		if got := tc.in.fake(); got != tc.want {
			t.Errorf("%+v translates to %+v, want %+v", tc.in, got, tc.want)
		}
		if back := injectionOf(tc.want); back != tc.in {
			t.Errorf("%+v translates back to %+v, want %+v", tc.want, back, tc.in)
		}
		srv := qdrantfake.New()
		if err := (localFaults{srv}).Inject(t.Context(), tc.in); err != nil {
			t.Fatalf("inject %+v: %v", tc.in, err)
		}
		if got, on, _ := srv.Injected(); !on || got != tc.want {
			t.Errorf("after inject %+v the stand-in shows %+v (active %v)", tc.in, got, on)
		}
	}
	if err := (localFaults{qdrantfake.New()}).Inject(t.Context(), Injection{Kind: "sideways"}); err == nil {
		t.Error("an unknown kind was accepted")
	}
}
